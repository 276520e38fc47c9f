"""Per-process caches for the proxy's hot path, and `last_used_at` without a write per call.

Every change to providers, connections, accounts or API clients bumps one generation
counter in the database, in the change's own transaction. The process that made the change
drops its caches at once; every other process polls the counter (one small query each
`AUTHRELAY_CACHE_POLL_SECONDS`) and drops its caches when it moved. So a change is seen by
all replicas within one poll interval, and the proxy's hot path does no database work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authrelay.errors import AuthrelayError
from authrelay.store import accounts as account_store
from authrelay.store import cache as cache_store

log = logging.getLogger("authrelay.cache")
_MAX_ENTRIES = 100_000


class ProxyCache:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str, str], Any] = {}
        self.clients: dict[str, str | None] = {}  # client id → environment id (None: gone)
        self.hosts: dict[str, str | None] | None = None  # bound host → environment id
        self.generation: int | None = None

    def invalidate(self) -> None:
        self.routes.clear()
        self.clients.clear()
        self.hosts = None

    def remember(self, store: dict[Any, Any], key: Any, value: Any) -> None:
        if len(store) >= _MAX_ENTRIES:
            store.clear()
        store[key] = value

    def cached_route(self, key: tuple[str, str, str]) -> Any:
        entry = self.routes.get(key)
        if isinstance(entry, AuthrelayError):
            raise entry
        return entry

    async def poll(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            current = await cache_store.current(session)
        if self.generation is not None and current != self.generation:
            self.invalidate()
        self.generation = current


class LastUsed:
    """Remembers when each account was last used; flushed in one transaction periodically."""

    def __init__(self) -> None:
        self.pending: dict[str, float] = {}
        self.latest: dict[str, float] = {}

    def mark(self, account_id: str) -> None:
        self.pending[account_id] = time.time()

    def get(self, account_id: str) -> datetime | None:
        when = self.pending.get(account_id) or self.latest.get(account_id)
        return datetime.fromtimestamp(when, UTC) if when else None

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        if len(self.latest) > _MAX_ENTRIES:
            self.latest.clear()
        self.latest.update(batch)  # before the write, so readers never see a gap
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
