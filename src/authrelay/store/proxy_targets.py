"""The proxy's one query on a cache miss: a connection by name, its connected account for one
identifier and its custom provider's id and version, in a single round trip. Columns only
(no ORM objects, no identity map), and no provider definition: parsed definitions are reused
across accounts (`proxy/routes.py`), and the definition is read only when its version is new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import ConnectedAccount, Connection, Provider


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


def _statement(env_id: str, connection_name: str, identifier: str) -> Any:
    return (
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
                ConnectedAccount.identifier == identifier,
            ),
        )
        .outerjoin(
            Provider,
            and_(
                Provider.environment_id == Connection.environment_id,
                Provider.identifier == Connection.provider_identifier,
            ),
        )
        .where(Connection.environment_id == env_id, Connection.name == connection_name)
        .limit(1)
    )


async def proxy_target(
    session: AsyncSession, env_id: str, connection_name: str, identifier: str
) -> ProxyTarget | None:
    """None when the environment has no connection of that name."""
    row = (await session.execute(_statement(env_id, connection_name, identifier))).first()
    return None if row is None else ProxyTarget(*row)


async def provider_definition(
    session: AsyncSession, provider_id: str
) -> tuple[dict[str, Any], int] | None:
    """A custom provider's stored definition and its version (None when it is gone)."""
    row = (
        await session.execute(
            select(Provider.definition, Provider.version).where(Provider.id == provider_id)
        )
    ).first()
    return None if row is None else (row[0], int(row[1]))
