"""Per-process caches for the proxy's hot path, and `last_used_at` without a write per call.

Every change to providers, connections, accounts or API clients bumps one generation
counter in the database, in the change's own transaction. The process that made the change
drops its caches at once; every other process polls the counter (one small query each
`AUTHRELAY_CACHE_POLL_SECONDS`) and drops its caches when it moved. So a change is seen by
all replicas within one poll interval, and the proxy's hot path does no database work.

Every cache here is bounded twice: by entries and by an estimate of the bytes its entries
hold (`BoundedCache`); the least recently used entries go first. Answers that are errors
("no such account") are cached too, as plain data (`Negative`) that is turned into a new
exception on each hit: re-raising one stored exception object would chain a traceback onto
it per call and keep every frame of every call alive.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from authrelay.bounded_cache import BoundedCache, text_size
from authrelay.errors import AuthrelayError, FieldViolation
from authrelay.store import AsyncSession, async_sessionmaker
from authrelay.store import accounts as account_store
from authrelay.store.cache import Generation

log = logging.getLogger("authrelay.cache")

T = TypeVar("T")


def _settle(
    loading: dict[tuple[str, ...], asyncio.Task[Any]], key: tuple[str, ...], done: Any
) -> None:
    if loading.get(key) is done:
        del loading[key]
    if not done.cancelled():
        done.exception()  # retrieved: a failure every caller has seen is not logged again


@dataclass(frozen=True, slots=True)
class Negative:
    """A cached error answer: what is needed to raise it again, and nothing of the call that
    first raised it (no traceback, no frames)."""

    kind: type[AuthrelayError]
    message: str
    violations: tuple[FieldViolation, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, exc: AuthrelayError) -> Negative:
        return cls(type(exc), exc.message, tuple(exc.violations), tuple(exc.headers.items()))

    def error(self) -> AuthrelayError:
        """A new exception each time (each raise gets its own short traceback)."""
        return self.kind(self.message, list(self.violations), headers=dict(self.headers))

    def size(self) -> int:
        fields = [(v.field, v.description) for v in self.violations] + list(self.headers)
        return 120 + text_size(self.message, *(s for pair in fields for s in pair))


def route_key_size(key: tuple[str, str, str]) -> int:
    # The environment id is shared by many keys (it comes from the cached token claims); the
    # connection name is read from each request's headers, so each key holds its own.
    return 64 + sys.getsizeof(key[1]) + sys.getsizeof(key[2])


def route_entry_size(key: tuple[str, str, str], value: Any) -> int:
    """Estimated bytes of one route-cache entry: a Route or a Negative answer."""
    sizer = getattr(value, "size", None)
    return route_key_size(key) + (sizer() if callable(sizer) else 256)


class ProxyCache:
    def __init__(self, max_entries: int = 100_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        # `max_bytes` bounds what these caches make the worker grow by, together: routes ½,
        # error answers ⅛, API clients 1/16 of it by their estimated bytes, and the rest left
        # for what the estimate cannot see (the allocator's overhead: freed request garbage
        # between long-lived entries keeps memory pages in use; measured by bench/memory.py)
        # and for the `last_used_at` values of one flush interval (LastUsed).
        # (environment id, connection name, identifier) → Route
        self.routes: BoundedCache[tuple[str, str, str], Any] = BoundedCache(
            max_entries, max_bytes // 2, route_entry_size
        )
        # The same keys → Negative (error answers), apart and with a quarter of the entries:
        # a flood of unknown identifiers can neither push the real routes out nor take more.
        self.negatives: BoundedCache[tuple[str, str, str], Negative] = BoundedCache(
            max(1, max_entries // 4), max(4096, max_bytes // 8), route_entry_size
        )
        # client id → environment id ("": the client is gone). Few entries.
        self.clients: BoundedCache[str, str] = BoundedCache(
            max(1, max_entries // 10), max(4096, max_bytes // 16), text_size
        )
        self.hosts: dict[str, str | None] | None = None  # bound host → environment id
        self.generation: Generation | None = None
        self.loading: dict[tuple[str, ...], asyncio.Task[Any]] = {}

    async def load_once(self, key: tuple[str, ...], load: Callable[[], Awaitable[T]]) -> T:
        """`load()`, run once for all the callers that ask for `key` while it runs: after a
        restart every connection's first call misses the API client and the host bindings
        at the same moment, and each read of its own took a pooled database connection (on
        PostgreSQL, opening new ones): the first second's p99 was several times the rest.
        A caller that goes away does not cancel the read for the others."""
        task = self.loading.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self.loading[key] = task
            task.add_done_callback(lambda done: _settle(self.loading, key, done))
        return cast(T, await asyncio.shield(task))

    def invalidate(self) -> None:
        self.invalidate_accounts()
        self.clients.clear()
        self.hosts = None

    def invalidate_accounts(self) -> None:
        """Drop what depends on connected accounts: the routes and error answers."""
        self.routes.clear()
        self.negatives.clear()

    def remember_route(
        self, key: tuple[str, str, str], value: Any, read_at: int | None = None
    ) -> None:
        """Store a Route, or an error answer as a `Negative` (each replaces the other).
        `read_at`: `routes.clears` when the value was read (routes and error answers are
        cleared together); after a clear since, nothing is stored."""
        if read_at is not None and read_at != self.routes.clears:
            return
        if isinstance(value, AuthrelayError):
            self.routes.pop(key)
            self.negatives.put(key, Negative.of(value))
        else:
            self.negatives.pop(key)
            self.routes.put(key, value)

    def cached_route(self, key: tuple[str, str, str]) -> Any:
        """The cached Route, None when nothing is cached; a cached error is raised anew."""
        route = self.routes.get(key)
        if route is None:
            negative = self.negatives.get(key)
            if negative is not None:
                raise negative.error()
        return route


class LastUsed:
    """Remembers when each account was last used; written to the database periodically, one
    statement per chunk of accounts. `flushed` is the last batch written: a read that loaded
    an account just before that write landed still shows the newer time. Both hold only the
    accounts used within one flush interval, never every account ever used."""

    def __init__(self) -> None:
        self.pending: dict[str, float] = {}
        self.flushed: dict[str, float] = {}

    def mark(self, account_id: str) -> None:
        self.pending[account_id] = time.time()

    def get(self, account_id: str) -> datetime | None:
        when = self.pending.get(account_id) or self.flushed.get(account_id)
        return datetime.fromtimestamp(when, UTC) if when else None

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        self.flushed = batch  # before the write, so readers never see a gap
        try:
            async with sessions() as session:
                await account_store.touch_last_used(
                    session, {k: datetime.fromtimestamp(v, UTC) for k, v in batch.items()}
                )
                await session.commit()
        except Exception:
            for key, when in batch.items():  # keep them for the next round
                self.pending[key] = max(when, self.pending.get(key, 0.0))
            raise


async def run_periodically(interval: float, work: Any, name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next round retries
            log.warning("background task failed", extra={"task": name}, exc_info=True)
