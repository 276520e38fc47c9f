"""Everything the database holds, as bytes or rows, for scanning (no ORM in between)."""

from __future__ import annotations

import asyncio
import json

from tests.support.servers import Backend

TABLES = ["environments", "api_clients", "signing_keys", "providers", "connections",
          "connected_accounts", "audit_log", "admin_users", "admin_sessions"]  # fmt: skip


def raw_bytes(backend: Backend) -> bytes:
    """The SQLite files (database and WAL) as they lie on disk, or a text dump of PostgreSQL."""
    if backend.database_url is None:
        out = b""
        for suffix in ("", "-wal"):
            path = backend.data_dir / f"authrelay.db{suffix}"
            if path.exists():
                out += path.read_bytes()
        return out
    return json.dumps(rows(backend, TABLES), default=str).encode()


def rows(backend: Backend, tables: list[str]) -> dict[str, list[dict[str, object]]]:
    async def dump() -> dict[str, list[dict[str, object]]]:
        if backend.database_url is None:
            import aiosqlite

            async with aiosqlite.connect(backend.data_dir / "authrelay.db") as conn:
                conn.row_factory = aiosqlite.Row
                result = {}
                for table in tables:
                    cursor = await conn.execute(f"SELECT * FROM {table}")
                    result[table] = [dict(r) for r in await cursor.fetchall()]
                return result
        import asyncpg

        conn = await asyncpg.connect(backend.database_url)
        try:
            return {t: [dict(r) for r in await conn.fetch(f"SELECT * FROM {t}")] for t in tables}
        finally:
            await conn.close()

    return asyncio.run(dump())


def execute(backend: Backend, sql: str) -> None:
    """Run one statement directly (for states no API call produces, like an expired link)."""

    async def run() -> None:
        if backend.database_url is None:
            import aiosqlite

            async with aiosqlite.connect(backend.data_dir / "authrelay.db") as conn:
                await conn.execute(sql)
                await conn.commit()
            return
        import asyncpg

        conn = await asyncpg.connect(backend.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())
