"""Many connected accounts, fast: rows inserted directly into the database, each account's
secret encrypted with the server's own key ring exactly as the API stores it (one vault blob
per account, bound to the account's id). 100,000 accounts take seconds, where the API would
take minutes. Used by bench/many_users.py and bench/memory.py.

    identifiers: user0@example.com, user1@example.com, ... (see `identifier`)
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from sqlalchemy import insert, select

from authrelay.store import cache as cache_store
from authrelay.store.db import create_engine, new_id, session_factory, utcnow
from authrelay.store.models import ConnectedAccount, Connection, Environment
from authrelay.vault import KeyRing, load_keyring
from authrelay.vault.contexts import account_context

BATCH = 5000


def identifier(i: int) -> str:
    return f"user{i}@example.com"


async def _seed(
    database_url: str, keyring: KeyRing, connection_name: str, start: int, stop: int
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            row = (
                await session.execute(
                    select(Connection.id, Connection.environment_id, Connection.type)
                    .join(Environment, Environment.id == Connection.environment_id)
                    .where(Environment.name == "dev", Connection.name == connection_name)
                )
            ).first()
        if row is None:
            raise RuntimeError(f"no connection {connection_name!r} in environment dev")
        connection_id, env_id, kind = row
        for first in range(start, stop, BATCH):
            now = utcnow()
            rows = []
            for i in range(first, min(first + BATCH, stop)):
                account_id = new_id("ca")
                secret = json.dumps({"values": {"api_key": f"key-{i}"}, "path_variables": {}})
                rows.append(
                    {
                        "id": account_id,
                        "environment_id": env_id,
                        "connection_id": connection_id,
                        "identifier": identifier(i),
                        "status": "ACTIVE",
                        "authorization_type": kind,
                        "secret_ct": keyring.encrypt(secret, account_context(account_id)),
                        "details": {},
                        "api_config": {},
                        "token_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            async with sessions() as session:
                await session.execute(insert(ConnectedAccount), rows)
                await session.commit()
        async with sessions() as session:  # running servers drop what they cached
            await cache_store.bump(session)
            await session.commit()
    finally:
        await engine.dispose()


def seed_accounts(
    database_url: str,
    master_keys: str | None,
    data_dir: Path,
    connection_name: str,
    start: int,
    stop: int,
) -> float:
    """Insert accounts `identifier(start)` .. `identifier(stop - 1)` on the connection of
    environment dev; return the seconds it took."""
    began = time.monotonic()
    keyring = load_keyring(master_keys, data_dir, create=False)
    asyncio.run(_seed(database_url, keyring, connection_name, start, stop))
    return time.monotonic() - began


async def _bump(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await cache_store.bump(session)
            await session.commit()
    finally:
        await engine.dispose()


def drop_caches(database_url: str) -> None:
    """Bump the cache generation: every running worker drops its caches within one poll
    interval (AUTHRELAY_CACHE_POLL_SECONDS)."""
    asyncio.run(_bump(database_url))
