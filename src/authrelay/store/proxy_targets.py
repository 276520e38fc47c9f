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
# And for asyncpg: the same text with numbered parameters.
_PG_TARGET = _SQLITE_TARGET.replace("?", "$1", 1).replace("?", "$2", 1).replace("?", "$3", 1)
_PG_DEFINITION = _SQLITE_DEFINITION.replace("?", "$1")
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


async def _keep_session(_connection: Any) -> None:
    """Release a pooled connection as it is. asyncpg's default runs a reset query on every
    release (a second round trip per miss); these connections only ever run the two SELECTs
    above in autocommit mode, which leave no session state behind."""


class AsyncpgReader:
    """PostgreSQL: a small asyncpg pool of its own (opened on first use) running the two
    statements as prepared statements (asyncpg caches them per connection). Through
    SQLAlchemy the same query cost several times the CPU in the worker (pool checkout,
    greenlet bridge, result processing), which at one query per miss is most of a miss."""

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.max_size = max_size
        self.pool: Any = None
        self.opening = asyncio.Lock()

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
        pool = await self._pool()
        row = await pool.fetchrow(_PG_TARGET, identifier, env_id, connection_name)
        if row is None:
            return None
        return ProxyTarget(
            row[0], row[1], row[2], row[3], row[4], row[5], _json(row[6]), *row[7:11]
        )

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
