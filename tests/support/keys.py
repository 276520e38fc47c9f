"""Reads the server's own signing key from its store, to mint tokens a client could not."""

from __future__ import annotations

import asyncio
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from authrelay.auth.signing_keys import load_signing_keys
from authrelay.config import Settings
from authrelay.store import db
from authrelay.store.environments import get_environment
from authrelay.vault import load_keyring
from tests.support.servers import Backend


def server_signing_key(backend: Backend) -> tuple[str, Ed25519PrivateKey]:
    async def load() -> tuple[str, str]:
        settings = Settings(data_dir=backend.data_dir, database_url=backend.database_url)
        engine = db.create_engine(settings.resolved_database_url)
        try:
            async with db.session_factory(engine)() as session:
                active, _ = await load_signing_keys(
                    session, load_keyring(os.environ.get("AUTHRELAY_MASTER_KEYS"), backend.data_dir)
                )
            return active.kid, active.private_pem
        finally:
            await engine.dispose()

    kid, pem = asyncio.run(load())
    key = load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return kid, key


def environment_id(backend: Backend, name: str) -> str:
    async def load() -> str:
        settings = Settings(data_dir=backend.data_dir, database_url=backend.database_url)
        engine = db.create_engine(settings.resolved_database_url)
        try:
            async with db.session_factory(engine)() as session:
                env = await get_environment(session, name)
                assert env is not None
                return env.id
        finally:
            await engine.dispose()

    return asyncio.run(load())
