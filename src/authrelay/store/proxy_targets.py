"""The proxy's one query on a cache miss: a connection by name, its connected account for one
identifier and its custom provider's id and version, in a single round trip. Columns only
(no ORM objects, no identity map, no session), a statement built once, and no provider
definition: parsed definitions are reused across accounts (`proxy/routes.py`), and a
definition is read only when its version is new to the process.

Two readers run it:

- `AsyncpgReader` (PostgreSQL): a small asyncpg pool of its own, prepared statements, no
  transaction (`EngineReader`, the same through SQLAlchemy in autocommit mode, serves other
  databases; `SessionReader` runs the queries in a caller's session);
- `SqliteReader` (SQLite): its own `sqlite3` connection, read-only, queried synchronously on
  the event loop's thread. The lookup is three index probes (tens of microseconds); handing
  it to aiosqlite's thread instead costs several thread hand-offs per query, which under load
  took milliseconds, and the shared engine's BEGIN IMMEDIATE made every miss queue for the
  database's write lock. In WAL mode a reader neither takes nor waits for that lock.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from authrelay.store.cache import Generation
from authrelay.store.db import read_only_engine
from authrelay.store.models import CacheState, ConnectedAccount, Connection, Provider


class ProxyTarget(NamedTuple):
    enabled: bool
    connection_type: str
    provider_identifier: str
    account_id: str | None  # None: no account for the identifier on this connection
    status: str | None
    secret_ct: str | None
    api_config: dict[str, Any] | None
    token_version: int | None
    token_expires_at: datetime | None
    provider_id: str | None  # None: not a custom provider (a built-in, or none at all)
    provider_version: int | None


_TARGET = (
    select(
        Connection.enabled,
        Connection.type,
        Connection.provider_identifier,
        ConnectedAccount.id,
        ConnectedAccount.status,
        ConnectedAccount.secret_ct,
        ConnectedAccount.api_config,
        ConnectedAccount.token_version,
        ConnectedAccount.token_expires_at,
        Provider.id,
        Provider.version,
    )
    .select_from(Connection)
    .outerjoin(
        ConnectedAccount,
        and_(
            ConnectedAccount.connection_id == Connection.id,
            ConnectedAccount.identifier == bindparam("identifier"),
        ),
    )
    .outerjoin(
        Provider,
        and_(
            Provider.environment_id == Connection.environment_id,
            Provider.identifier == Connection.provider_identifier,
        ),
    )
    .where(
        Connection.environment_id == bindparam("env_id"),
        Connection.name == bindparam("connection_name"),
    )
    .limit(1)
)
_DEFINITION = select(Provider.definition, Provider.version).where(
    Provider.id == bindparam("provider_id")
)

# The same two statements for sqlite3, by hand: table and column names as in models.py.
_SQLITE_TARGET = (
    "SELECT c.enabled, c.type, c.provider_identifier, a.id, a.status, a.secret_ct, "
    "a.api_config, a.token_version, a.token_expires_at, p.id, p.version "
    "FROM connections AS c "
    "LEFT OUTER JOIN connected_accounts AS a "
    "ON a.connection_id = c.id AND a.identifier = ? "
    "LEFT OUTER JOIN providers AS p "
    "ON p.environment_id = c.environment_id AND p.identifier = c.provider_identifier "
    "WHERE c.environment_id = ? AND c.name = ? LIMIT 1"
)
_SQLITE_DEFINITION = "SELECT definition, version FROM providers WHERE id = ?"
# And for asyncpg: the definition with a numbered parameter, and the target query for a
# batch of lookups.
_PG_DEFINITION = _SQLITE_DEFINITION.replace("?", "$1")
# A batch: row n answers the n-th (identifier, environment, connection name);
# no row when the connection does not exist (each join matches at most one row: unique keys).
_PG_TARGETS = (
    "SELECT q.n, c.enabled, c.type, c.provider_identifier, a.id, a.status, a.secret_ct, "
    "a.api_config, a.token_version, a.token_expires_at, p.id, p.version "
    "FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
    "AS q(identifier, environment_id, name, n) "
    "JOIN connections AS c ON c.environment_id = q.environment_id AND c.name = q.name "
    "LEFT OUTER JOIN connected_accounts AS a "
    "ON a.connection_id = c.id AND a.identifier = q.identifier "
    "LEFT OUTER JOIN providers AS p "
    "ON p.environment_id = c.environment_id AND p.identifier = c.provider_identifier"
)
# The cache generation (store/cache.py), for readers that must know it exactly (tool lists).
_SQLITE_GENERATION = "SELECT generation, accounts FROM cache_state WHERE id = 1"
_GENERATION = select(CacheState.generation, CacheState.accounts).where(CacheState.id == 1)


def _generation(row: Any) -> Generation:
    return Generation(int(row[0]), int(row[1])) if row else Generation(0, 0)


class TargetReader(Protocol):
    async def target(
        self, env_id: str, connection_name: str, identifier: str
    ) -> ProxyTarget | None: ...

    async def definition(self, provider_id: str) -> tuple[dict[str, Any], int] | None: ...

    async def generation(self) -> Generation: ...


def _params(env_id: str, connection_name: str, identifier: str) -> dict[str, str]:
    return {"env_id": env_id, "connection_name": connection_name, "identifier": identifier}


class SessionReader:
    """The queries inside a caller's session (the OAuth refresher's reload)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def target(
        self, env_id: str, connection_name: str, identifier: str
    ) -> ProxyTarget | None:
        result = await self.session.execute(_TARGET, _params(env_id, connection_name, identifier))
        row = result.first()
        return None if row is None else ProxyTarget(*row)

    async def definition(self, provider_id: str) -> tuple[dict[str, Any], int] | None:
        row = (await self.session.execute(_DEFINITION, {"provider_id": provider_id})).first()
        return None if row is None else (row[0], int(row[1]))

    async def generation(self) -> Generation:
        return _generation((await self.session.execute(_GENERATION)).first())


class EngineReader:
    """A pooled connection per query, in autocommit mode (no BEGIN/ROLLBACK round trips)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = read_only_engine(engine)

    async def target(
        self, env_id: str, connection_name: str, identifier: str
    ) -> ProxyTarget | None:
        async with self.engine.connect() as conn:
            result = await conn.execute(_TARGET, _params(env_id, connection_name, identifier))
            row = result.first()
        return None if row is None else ProxyTarget(*row)

    async def definition(self, provider_id: str) -> tuple[dict[str, Any], int] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_DEFINITION, {"provider_id": provider_id})).first()
        return None if row is None else (row[0], int(row[1]))

    async def generation(self) -> Generation:
        async with self.engine.connect() as conn:
            return _generation((await conn.execute(_GENERATION)).first())


def _sqlite_time(value: str | None) -> datetime | None:
    # SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" (naive, UTC).
    return datetime.fromisoformat(value) if value else None


class SqliteReader:
    """Its own sqlite3 connection, only read from, used only from the event loop's thread."""

    def __init__(self, path: Path) -> None:
        # Opened read-write (a read-only WAL reader needs the -shm file to exist first) but
        # only ever read from; autocommit, so each SELECT is its own snapshot.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=5000")

    async def target(
        self, env_id: str, connection_name: str, identifier: str
    ) -> ProxyTarget | None:
        row = self.conn.execute(_SQLITE_TARGET, (identifier, env_id, connection_name)).fetchone()
        if row is None:
            return None
        api_config = json.loads(row[6]) if row[6] is not None else None
        return ProxyTarget(
            bool(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            api_config,
            row[7],
            _sqlite_time(row[8]),
            row[9],
            row[10],
        )

    async def definition(self, provider_id: str) -> tuple[dict[str, Any], int] | None:
        row = self.conn.execute(_SQLITE_DEFINITION, (provider_id,)).fetchone()
        return None if row is None else (json.loads(row[0]), int(row[1]))

    async def generation(self) -> Generation:
        return _generation(self.conn.execute(_SQLITE_GENERATION).fetchone())

    def close(self) -> None:
        self.conn.close()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _pg_target(row: Any) -> ProxyTarget | None:
    """A row of `_PG_TARGETS` (its first column the position in the batch)."""
    if row is None:
        return None
    return ProxyTarget(row[1], row[2], row[3], row[4], row[5], row[6], _json(row[7]), *row[8:12])


async def _keep_session(_connection: Any) -> None:
    """Release a pooled connection as it is. asyncpg's default runs a reset query on every
    release (a second round trip per miss); these connections only ever run the two SELECTs
    above in autocommit mode, which leave no session state behind."""


class AsyncpgReader:
    """PostgreSQL: a small asyncpg pool of its own (opened on first use) running the
    statements as prepared statements (asyncpg caches them per connection). Through
    SQLAlchemy the same query cost several times the CPU in the worker (pool checkout,
    greenlet bridge, result processing), which at one query per miss is most of a miss.

    Misses are looked up in batches: the lookups asked for while the event loop runs one
    round of ready callbacks go out as one statement over arrays of (identifier,
    environment, connection name), and while `max_in_flight` statements are out, new
    lookups wait for the next one. With many end users most calls miss, and per statement
    PostgreSQL and the worker spend far more (protocol messages, a snapshot, executor
    start-up, two system calls) than per row; under load a batch carries several misses.
    An idle server sends each miss at once, alone."""

    max_in_flight = 2
    max_batch = 256

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.max_size = max_size
        self.pool: Any = None
        self.opening = asyncio.Lock()
        self.queued: list[tuple[str, str, str, asyncio.Future[ProxyTarget | None]]] = []
        self.in_flight = 0
        self.dispatching = False
        self.batches: set[asyncio.Task[None]] = set()
        self.statements = 0  # batches sent (tests: lookups asked together go out together)

    async def _pool(self) -> Any:
        if self.pool is None:
            async with self.opening:
                if self.pool is None:
                    import asyncpg

                    self.pool = await asyncpg.create_pool(
                        self.dsn, min_size=1, max_size=self.max_size, reset=_keep_session
                    )
        return self.pool

    async def target(
        self, env_id: str, connection_name: str, identifier: str
    ) -> ProxyTarget | None:
        loop = asyncio.get_running_loop()
        found: asyncio.Future[ProxyTarget | None] = loop.create_future()
        self.queued.append((identifier, env_id, connection_name, found))
        self._schedule(loop)
        return await found

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.queued and not self.dispatching and self.in_flight < self.max_in_flight:
            self.dispatching = True
            loop.call_soon(self._dispatch)  # after the callbacks of this round

    def _dispatch(self) -> None:
        self.dispatching = False
        batch = self.queued[: self.max_batch]
        del self.queued[: self.max_batch]
        if not batch:
            return
        self.in_flight += 1
        self.statements += 1
        task = asyncio.ensure_future(self._look_up(batch))
        self.batches.add(task)
        task.add_done_callback(self.batches.discard)

    async def _look_up(
        self, batch: list[tuple[str, str, str, asyncio.Future[ProxyTarget | None]]]
    ) -> None:
        try:
            pool = await self._pool()
            rows = await pool.fetch(
                _PG_TARGETS,
                [item[0] for item in batch],
                [item[1] for item in batch],
                [item[2] for item in batch],
            )
        except BaseException as exc:  # every waiting caller gets the failure
            for *_, found in batch:
                if found.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    found.cancel()
                else:
                    found.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            by_position = {row[0]: row for row in rows}
            for position, (*_, found) in enumerate(batch, 1):
                if not found.done():
                    found.set_result(_pg_target(by_position.get(position)))
        finally:
            self.in_flight -= 1
            self._schedule(asyncio.get_running_loop())

    async def definition(self, provider_id: str) -> tuple[dict[str, Any], int] | None:
        pool = await self._pool()
        row = await pool.fetchrow(_PG_DEFINITION, provider_id)
        return None if row is None else (_json(row[0]), int(row[1]))

    async def generation(self) -> Generation:
        pool = await self._pool()
        return _generation(await pool.fetchrow(_SQLITE_GENERATION))

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def target_reader(engine: AsyncEngine, url: str) -> EngineReader | SqliteReader | AsyncpgReader:
    path = sqlite_path(url)
    if path is not None:
        return SqliteReader(path)
    if url.startswith("postgresql+asyncpg://"):
        return AsyncpgReader(url)
    return EngineReader(engine)
