"""Engine, sessions and migrations. The same code serves SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from authrelay.errors import NotFound

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 10
READ_ONLY = "authrelay_read_only"  # execution option: see read_only_session_factory
_ALEMBIC_LOCK_ID = 0x61757468  # any constant; serialises migrations of replicas starting at once


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def make_private_dir(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by this user only (0700). A folder that
    already exists keeps its mode: the operator chose it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite gives its -wal and -shm
    files the database file's mode), and take group and other access away from files an
    older version created 0644."""
    make_private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(0o600)


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            prepare_sqlite_file(Path(path))
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # Let SQLAlchemy, not the driver, decide when transactions begin (see below).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: SyncConnection) -> None:
            if conn.get_execution_options().get(READ_ONLY):
                return  # no transaction: each SELECT reads its own snapshot, taking no lock
            # Take the write lock at BEGIN so concurrent writers queue instead of failing
            # with "database is locked" when a read transaction tries to upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pool_pre_ping: with asyncpg it can run outside the greenlet bridge after an error
    # (MissingGreenlet); stale connections are replaced by recycling instead.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_recycle=300,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )


def describe_url(url: str) -> str:
    """Where a database is, without its credentials."""
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        return f"the SQLite database {parts.database}"
    return f"PostgreSQL at {parts.host or 'localhost'}:{parts.port or 5432}/{parts.database or ''}"


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database (readiness); raises when it does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def table_names(engine: AsyncEngine) -> list[str]:
    """The tables in the database's default schema."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: inspect(sync).get_table_names())


class RowGone(NotFound):
    """A row this session changed was deleted by another transaction before the change
    was written."""


class StoreSession(Session):
    """The session behind every `AsyncSession` of the store. A service reads a row,
    changes it and commits; when another request deleted the row in between, the UPDATE
    matches nothing and SQLAlchemy raises `StaleDataError` at the flush (at the commit, or
    at a query's autoflush). That is the row gone, so the caller answers NOT_FOUND rather
    than an internal error (which also dropped the keep-alive connection)."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        try:
            super().flush(objects)
        except StaleDataError:
            raise RowGone(
                "the resource was deleted by another request while this one was changing it"
            ) from None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=StoreSession)


def read_only_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for reads that need no transaction (the proxy's cache
    misses): each statement runs on its own, with no BEGIN/COMMIT round trips, and on SQLite
    without the write lock every other transaction takes (which made concurrent misses queue
    behind each other and behind writers). Never write through it."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{READ_ONLY: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def read_only_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `read_only_engine`."""
    return async_sessionmaker(
        read_only_engine(engine), expire_on_commit=False, sync_session_class=StoreSession
    )


async def read_without_lock(session: AsyncSession) -> None:
    """Run the session's next reads outside a transaction on SQLite (each SELECT on its own
    snapshot, without the write lock every transaction there takes), until its next commit
    or rollback. Only for reads that a later write transaction does not rely on, or checks
    again (a unique constraint). PostgreSQL reads never take that lock: no change there."""
    await session.connection(execution_options={READ_ONLY: True})


def _alembic_config(connection: SyncConnection) -> Config:
    # Imported here: the local CLI commands that never migrate start ~0.15 s sooner.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: SyncConnection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ALEMBIC_LOCK_ID})
    command.upgrade(_alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration (safe when several processes start at once)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
