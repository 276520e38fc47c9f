"""Everything a running server holds: settings, database, key ring, token service, catalog.

Built once in the app's lifespan (`create_runtime`), never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authrelay.auth.jwt_keys import KeySet
from authrelay.auth.tokens import TokenService
from authrelay.config import Settings
from authrelay.context import ServiceContext
from authrelay.observability import Metrics
from authrelay.providers.catalog import Catalog, load_catalog
from authrelay.store import db
from authrelay.store.environments import bootstrap, load_signing_keys
from authrelay.vault import KeyRing, load_keyring


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    tokens: TokenService
    catalog: Catalog
    metrics: Metrics

    @property
    def services(self) -> ServiceContext:
        return ServiceContext(
            self.catalog,
            self.settings.allowlist,
            self.keyring,
            self.settings.base_url,
        )

    async def close(self) -> None:
        await self.engine.dispose()


async def prepare_database(settings: Settings) -> tuple[AsyncEngine, KeyRing, list[str]]:
    """Migrate, create default environments and the signing key; return created env names."""
    keyring = load_keyring(
        settings.master_keys.get_secret_value() if settings.master_keys else None,
        settings.data_dir,
    )
    engine = db.create_engine(settings.resolved_database_url)
    await db.upgrade(engine)
    created = await bootstrap(db.session_factory(engine), keyring)
    return engine, keyring, [e.name for e in created]


async def create_runtime(settings: Settings, metrics: Metrics | None = None) -> Runtime:
    engine, keyring, _ = await prepare_database(settings)
    sessions = db.session_factory(engine)
    async with sessions() as session:
        active, published = await load_signing_keys(session, keyring)
    keys = KeySet.build(active, list(published))
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keyring=keyring,
        tokens=TokenService(keys, settings.token_ttl_seconds),
        catalog=load_catalog(),
        metrics=metrics or Metrics(),
    )
