"""Environments, API clients and signing keys: queries, and the default environments made
on first start. Secrets arrive made and sealed (`auth.clients`, `auth.signing_keys`): the
store only keeps them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authrelay.store import cache as cache_store
from authrelay.store.db import new_id, utcnow
from authrelay.store.models import ApiClient, Environment, SigningKey

DEFAULT_ENVIRONMENTS = ("dev", "production")


@dataclass(frozen=True)
class EnvironmentInfo:
    id: str
    name: str
    host: str | None


@dataclass(frozen=True)
class NewClient:
    environment: EnvironmentInfo
    client_id: str
    client_secret: str


def _info(row: Environment) -> EnvironmentInfo:
    return EnvironmentInfo(row.id, row.name, row.host)


async def list_environments(session: AsyncSession) -> list[EnvironmentInfo]:
    rows = await session.scalars(
        select(Environment).order_by(Environment.created_at, Environment.name)
    )
    return [_info(r) for r in rows]


async def get_environment(session: AsyncSession, name_or_id: str) -> EnvironmentInfo | None:
    row = await session.scalar(
        select(Environment).where((Environment.name == name_or_id) | (Environment.id == name_or_id))
    )
    return _info(row) if row else None


async def create_environment(
    session: AsyncSession, name: str, host: str | None = None
) -> EnvironmentInfo:
    row = Environment(id=new_id("env"), name=name, host=host, created_at=utcnow())
    session.add(row)
    await session.flush()
    if host:
        await cache_store.bump(session)
    return _info(row)


async def add_client(
    session: AsyncSession, env: EnvironmentInfo, client_id: str, secret_hash: str
) -> None:
    session.add(
        ApiClient(id=client_id, environment_id=env.id, secret_hash=secret_hash, created_at=utcnow())
    )
    await session.flush()


async def get_client(session: AsyncSession, client_id: str) -> ApiClient | None:
    return await session.get(ApiClient, client_id)


async def list_clients(session: AsyncSession, env: EnvironmentInfo) -> list[ApiClient]:
    rows = await session.scalars(
        select(ApiClient).where(ApiClient.environment_id == env.id).order_by(ApiClient.created_at)
    )
    return list(rows)


async def delete_client(session: AsyncSession, client_id: str) -> bool:
    result = await session.execute(delete(ApiClient).where(ApiClient.id == client_id))
    await cache_store.bump(session)  # proxies cache API clients
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def bound_hosts(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(
        select(Environment.host, Environment.id).where(Environment.host.is_not(None))
    )
    return {str(host): env_id for host, env_id in rows}


async def environment_by_host(session: AsyncSession, host: str) -> EnvironmentInfo | None:
    row = await session.scalar(select(Environment).where(Environment.host == host))
    return _info(row) if row else None


async def signing_keys(session: AsyncSession) -> list[SigningKey]:
    """Every signing key, oldest first."""
    return list(await session.scalars(select(SigningKey).order_by(SigningKey.created_at)))


async def has_active_signing_key(session: AsyncSession) -> bool:
    kid = await session.scalar(select(SigningKey.kid).where(SigningKey.active.is_(True)))
    return kid is not None


def add_signing_key(
    session: AsyncSession, kid: str, private_key_ct: str, public_jwk: dict[str, object]
) -> None:
    session.add(
        SigningKey(
            kid=kid,
            private_key_ct=private_key_ct,
            public_jwk=public_jwk,
            active=True,
            created_at=utcnow(),
        )
    )


async def create_default_environments(
    sessions: async_sessionmaker[AsyncSession],
) -> list[EnvironmentInfo]:
    """Create the default environments if absent; return those created.

    Safe when several processes start at once: each insert runs in its own transaction and
    a unique-constraint conflict means another process won the race.
    """
    created: list[EnvironmentInfo] = []
    for name in DEFAULT_ENVIRONMENTS:
        try:
            async with sessions() as session, session.begin():
                if await get_environment(session, name) is None:
                    created.append(await create_environment(session, name))
        except IntegrityError:
            continue
    return created
