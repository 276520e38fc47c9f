"""Direct inserts for resources whose API lands later (connections, connected accounts)."""

from __future__ import annotations

import asyncio

from authrelay.config import Settings
from authrelay.store import db
from authrelay.store.models import ConnectedAccount, Connection
from tests.support.keys import environment_id
from tests.support.servers import Backend


def insert_connection(backend: Backend, env: str, name: str, provider: str, accounts: int) -> None:
    env_id = environment_id(backend, env)

    async def insert() -> None:
        settings = Settings(data_dir=backend.data_dir, database_url=backend.database_url)
        engine = db.create_engine(settings.resolved_database_url)
        try:
            async with db.session_factory(engine)() as session:
                now = db.utcnow()
                conn = Connection(
                    id=db.new_id("conn"),
                    environment_id=env_id,
                    name=name,
                    provider_identifier=provider,
                    type="API_KEY",
                    enabled=True,
                    config={},
                    created_at=now,
                    updated_at=now,
                )
                session.add(conn)
                await session.flush()
                for i in range(accounts):
                    session.add(
                        ConnectedAccount(
                            id=db.new_id("ca"),
                            environment_id=env_id,
                            connection_id=conn.id,
                            identifier=f"user{i}@example.com",
                            status="ACTIVE",
                            authorization_type="API_KEY",
                            api_config={},
                            created_at=now,
                            updated_at=now,
                        )
                    )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(insert())
