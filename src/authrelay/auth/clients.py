"""API clients as changes with an audit trail (the dashboard's create and delete)."""

from __future__ import annotations

from authrelay.auth.client_secrets import hash_secret, new_client_id, new_client_secret
from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import NotFound
from authrelay.store import AsyncSession
from authrelay.store import environments as envs


async def issue_client(session: AsyncSession, env: envs.EnvironmentInfo) -> envs.NewClient:
    """A new API client with a fresh secret (returned once; the store keeps only its hash)."""
    client_id, secret = new_client_id(), new_client_secret()
    await envs.add_client(session, env, client_id, hash_secret(secret))
    return envs.NewClient(env, client_id, secret)


async def create_api_client(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, env: envs.EnvironmentInfo
) -> envs.NewClient:
    """The new client with its secret (shown once; only its hash is stored)."""
    created = await issue_client(session, env)
    change = Change("api_client.create", created.client_id, after={"client_id": created.client_id})
    await commit_change(session, ctx, principal, change)
    return created


async def delete_api_client(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, client_id: str
) -> None:
    row = await envs.get_client(session, client_id)
    if row is None or row.environment_id != principal.environment_id:
        raise NotFound(f"no API client {client_id!r} in this environment")
    await envs.delete_client(session, client_id)
    change = Change("api_client.delete", client_id, before={"client_id": client_id})
    await commit_change(session, ctx, principal, change)
