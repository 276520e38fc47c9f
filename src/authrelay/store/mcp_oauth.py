"""The MCP authorization server's rows: per-environment settings, OAuth clients,
authorizations in progress and refresh tokens (docs/mcp-authorization.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import (
    Environment,
    McpConfig,
    McpOAuthClient,
    McpOAuthGrant,
    McpOAuthRefreshToken,
    McpOAuthRequest,
    McpOAuthSettings,
)


async def config_environment(session: AsyncSession, config_id: str) -> str | None:
    """The environment of an MCP config (config ids are unique across environments)."""
    found: str | None = await session.scalar(
        select(McpConfig.environment_id).where(McpConfig.id == config_id)
    )
    return found


async def registration_flags(
    session: AsyncSession, env_id: str
) -> tuple[bool | None, bool | None] | None:
    """(dcr_enabled, cimd_enabled) of environment `env_id` in one query (None each when the
    environment was never configured); None when there is no such environment."""
    row = (
        await session.execute(
            select(Environment.id, McpOAuthSettings.dcr_enabled, McpOAuthSettings.cimd_enabled)
            .outerjoin(McpOAuthSettings, McpOAuthSettings.environment_id == Environment.id)
            .where(Environment.id == env_id)
        )
    ).first()
    return None if row is None else (row[1], row[2])


async def settings(session: AsyncSession, env_id: str) -> McpOAuthSettings | None:
    return await session.get(McpOAuthSettings, env_id)


async def client(session: AsyncSession, env_id: str, client_id: str) -> McpOAuthClient | None:
    return await session.scalar(
        select(McpOAuthClient).where(
            McpOAuthClient.environment_id == env_id, McpOAuthClient.client_id == client_id
        )
    )


async def clients(session: AsyncSession, env_id: str) -> list[McpOAuthClient]:
    rows = await session.scalars(
        select(McpOAuthClient)
        .where(McpOAuthClient.environment_id == env_id)
        .order_by(McpOAuthClient.seq)
    )
    return list(rows)


async def request(session: AsyncSession, request_id: str) -> McpOAuthRequest | None:
    return await session.get(McpOAuthRequest, request_id)


async def advance_request(
    session: AsyncSession,
    request_id: str,
    *,
    before: str,
    after: str,
    now: datetime,
    identifier: str | None = None,
    code_hash: str | None = None,
    expires_at: datetime | None = None,
    csrf_hash: str | None = None,
    grant_id: str | None = None,
) -> bool:
    """Move a live request from status `before` to `after` (at most once: the UPDATE's
    condition is the single-use check, also between replicas)."""
    values: dict[str, object] = {"status": after}
    if identifier is not None:
        values["identifier"] = identifier
    if code_hash is not None:
        values["code_hash"] = code_hash
    if expires_at is not None:
        values["expires_at"] = expires_at
    if csrf_hash is not None:
        values["csrf_hash"] = csrf_hash
    if grant_id is not None:
        values["grant_id"] = grant_id
    result = await session.execute(
        update(McpOAuthRequest)
        .where(
            McpOAuthRequest.id == request_id,
            McpOAuthRequest.status == before,
            McpOAuthRequest.expires_at > now,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def request_by_code(session: AsyncSession, code_hash: str) -> McpOAuthRequest | None:
    return await session.scalar(
        select(McpOAuthRequest).where(McpOAuthRequest.code_hash == code_hash)
    )


async def refresh_token(session: AsyncSession, token_hash: str) -> McpOAuthRefreshToken | None:
    return await session.get(McpOAuthRefreshToken, token_hash)


async def use_refresh_token(session: AsyncSession, token_hash: str, now: datetime) -> bool:
    """Mark an unused, unrevoked refresh token used; False if it already was (or is gone)."""
    result = await session.execute(
        update(McpOAuthRefreshToken)
        .where(
            McpOAuthRefreshToken.token_hash == token_hash,
            McpOAuthRefreshToken.used_at.is_(None),
            McpOAuthRefreshToken.revoked.is_(False),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(McpOAuthRefreshToken)
        .where(McpOAuthRefreshToken.family_id == family_id)
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    """Forget finished authorizations and expired refresh tokens."""
    await session.execute(delete(McpOAuthRequest).where(McpOAuthRequest.expires_at <= now))
    await session.execute(
        delete(McpOAuthRefreshToken).where(McpOAuthRefreshToken.expires_at <= now)
    )


async def delete_client(session: AsyncSession, env_id: str, client_id: str) -> bool:
    """Delete a client and the refresh tokens issued to it."""
    result = await session.execute(
        delete(McpOAuthClient).where(
            McpOAuthClient.environment_id == env_id, McpOAuthClient.client_id == client_id
        )
    )
    await session.execute(
        delete(McpOAuthRefreshToken).where(
            McpOAuthRefreshToken.environment_id == env_id,
            McpOAuthRefreshToken.client_id == client_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def client_families(session: AsyncSession, env_id: str, client_id: str) -> list[str]:
    """The grant families of a client's refresh tokens."""
    rows = await session.scalars(
        select(McpOAuthRefreshToken.family_id)
        .where(
            McpOAuthRefreshToken.environment_id == env_id,
            McpOAuthRefreshToken.client_id == client_id,
        )
        .distinct()
    )
    return list(rows)


async def grant(session: AsyncSession, grant_id: str) -> McpOAuthGrant | None:
    return await session.get(McpOAuthGrant, grant_id)


async def live_grant(
    session: AsyncSession, env_id: str, client_id: str, identifier: str, config_id: str
) -> McpOAuthGrant | None:
    """The unrevoked grant of (client, user, config), if there is one."""
    return await session.scalar(
        select(McpOAuthGrant)
        .where(
            McpOAuthGrant.environment_id == env_id,
            McpOAuthGrant.client_id == client_id,
            McpOAuthGrant.identifier == identifier,
            McpOAuthGrant.config_id == config_id,
            McpOAuthGrant.revoked_at.is_(None),
        )
        .order_by(McpOAuthGrant.created_at.desc())
        .limit(1)
    )


async def grants(
    session: AsyncSession, env_id: str, identifier: str | None, *, include_revoked: bool
) -> list[McpOAuthGrant]:
    query = select(McpOAuthGrant).where(McpOAuthGrant.environment_id == env_id)
    if identifier is not None:
        query = query.where(McpOAuthGrant.identifier == identifier)
    if not include_revoked:
        query = query.where(McpOAuthGrant.revoked_at.is_(None))
    rows = await session.scalars(query.order_by(McpOAuthGrant.created_at, McpOAuthGrant.id))
    return list(rows)


async def client_grants(session: AsyncSession, env_id: str, client_id: str) -> list[McpOAuthGrant]:
    rows = await session.scalars(
        select(McpOAuthGrant).where(
            McpOAuthGrant.environment_id == env_id,
            McpOAuthGrant.client_id == client_id,
            McpOAuthGrant.revoked_at.is_(None),
        )
    )
    return list(rows)


async def revoke_grant_tokens(session: AsyncSession, grant_id: str) -> None:
    """End every refresh token of a grant."""
    await session.execute(
        update(McpOAuthRefreshToken)
        .where(McpOAuthRefreshToken.grant_id == grant_id)
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
