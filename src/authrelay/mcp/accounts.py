"""The state of an end user's accounts on an MCP config's connections, with fresh
authorization links (`POST /api/v1/mcp/configs/{id}/connected_accounts`): the config's
services joined with the OAuth flows' magic links, so it sits above both (docs/architecture.md,
"Layers")."""

from __future__ import annotations

from typing import Any

from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.mcp.configs import get_row, identifier_of
from authrelay.oauth import flows
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay_client.wire import McpConnectedAccountsResponse, McpConnectionAuthStateBody


async def auth_link(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    connection: str,
    identifier: str,
    ttl: int,
) -> str:
    """A fresh authorization link for `identifier` on `connection` (creating a pending
    account when there is none), as `POST /api/v1/connected_accounts/magic_link` makes."""
    body = await flows.create_magic_link(
        session, principal, ctx, {"connector": connection, "identifier": identifier}, ttl
    )
    return str(body["link"])


async def connected_accounts(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    config_id: str,
    raw: Any,
    link_ttl: int,
) -> McpConnectedAccountsResponse:
    """`{identifier, include_auth_link}` → the account state per connection of the config."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    violations = [
        FieldViolation(k, f"unknown field {k!r}")
        for k in sorted(set(raw) - {"identifier", "include_auth_link"})
    ]
    identifier = identifier_of(raw, violations)
    include = raw.get("include_auth_link", False)
    if not isinstance(include, bool):
        violations.append(FieldViolation("include_auth_link", "must be true or false"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    env_id = principal.environment_id
    row = await get_row(session, env_id, config_id)
    mappings = list(row.mappings)
    states: list[McpConnectionAuthStateBody] = []
    for mapping in mappings:
        name = mapping["connection_name"]
        connection = await connection_store.by_name(session, env_id, name)
        if connection is None:
            continue  # deleted since; the config lists it, but it serves no tools
        link = ""
        if include and connection.enabled:
            link = await auth_link(session, principal, ctx, name, identifier, link_ttl)
        account = await account_store.get(
            session, env_id, account_id=None, connection_id=connection.id, identifier=identifier
        )
        states.append(
            {
                "connection_name": name,
                "connection_id": connection.id,
                "provider": connection.provider_identifier.upper(),
                "connected_account_id": account.id if account else "",
                "connected_account_status": account.status if account else "",
                "authentication_link": link,
            }
        )
    return {"connected_accounts": states}
