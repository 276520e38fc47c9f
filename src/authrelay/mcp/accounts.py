"""The state of an end user's accounts on an MCP config's connections, with fresh
authorization links (`POST /api/v1/mcp/configs/{id}/connected_accounts`): the config's
services joined with the OAuth flows' magic links, so it sits above both (docs/architecture.md,
"Layers")."""

from __future__ import annotations

from typing import Any

from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import AuthrelayError, FieldViolation, InvalidArgument
from authrelay.mcp import instances
from authrelay.mcp.configs import get_row, identifier_of
from authrelay.oauth import flows
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay_client.wire import (
    McpConnectedAccountsResponse,
    McpConnectionAuthStateBody,
    McpInstanceAuthStateResponse,
    McpInstanceConnectionAuthStateBody,
)


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


async def instance_auth_state(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    instance_id: str,
    include_auth_links: bool,
    link_ttl: int,
) -> McpInstanceAuthStateResponse:
    """GetMcpInstanceAuthState: per connection of the instance's config, the user's account
    and its status; with `include_auth_links`, a fresh authorization link for each enabled
    connection whose account is not ACTIVE (made as the magic-link route makes it, so a
    user with no account gets a PENDING_AUTH one)."""
    env_id = principal.environment_id
    row, config = await instances.get_row(session, env_id, instance_id)
    user = row.user_identifier
    states: list[McpInstanceConnectionAuthStateBody] = []
    for mapping in list(config.mappings):
        name = mapping["connection_name"]
        connection = await connection_store.by_name(session, env_id, name)
        if connection is None:
            continue  # deleted since; the config lists it, but it serves no tools
        account = await account_store.get(
            session, env_id, account_id=None, connection_id=connection.id, identifier=user
        )
        link = ""
        active = account is not None and account.status == "ACTIVE"
        if include_auth_links and connection.enabled and not active:
            try:
                link = await auth_link(session, principal, ctx, name, user, link_ttl)
            except AuthrelayError:  # e.g. the provider cannot make links: status only
                await session.rollback()
            account = await account_store.get(
                session, env_id, account_id=None, connection_id=connection.id, identifier=user
            )
        states.append(
            {
                "connection_id": connection.id,
                "connection_name": name,
                "provider": connection.provider_identifier.upper(),
                "connected_account_id": account.id if account else "",
                "connected_account_status": account.status if account else "",
                "authentication_link": link,
            }
        )
    return {"connections": states}


def parse_auth_state_request(query: str | None, raw: Any) -> bool:
    """`include_auth_links` from the query (`true`/`false`, as google.api.http sends a field
    of a body-less POST) or a JSON body `{include_auth_links}`; every bad field named."""
    violations: list[FieldViolation] = []
    include = False
    if query is not None:
        if query.lower() in ("true", "1"):
            include = True
        elif query.lower() not in ("false", "0", ""):
            violations.append(FieldViolation("include_auth_links", "must be true or false"))
    if raw is not None:
        if not isinstance(raw, dict):
            raise InvalidArgument.field("body", "must be a JSON object")
        violations += [
            FieldViolation(k, f"unknown field {k!r}")
            for k in sorted(set(raw) - {"include_auth_links", "instance_id"})
        ]
        value = raw.get("include_auth_links", include)
        if not isinstance(value, bool):
            violations.append(FieldViolation("include_auth_links", "must be true or false"))
        else:
            include = value
    if violations:
        raise InvalidArgument.from_violations(violations)
    return include
