"""Consent and grants of the MCP authorization server (docs/mcp-authorization.md, "Consent
and grants"): what the consent page shows (the client, the user, the config, its tools and
the user's account on each of its connections), the grant an Allow makes, and the grants as
the API, CLI and dashboard list and revoke them. Every grant, revocation and client change
is audited; each moves the cache generation, which is how the MCP server learns that a
grant ended (`live`, cached per generation)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlsplit

from authrelay.auth.principal import Principal
from authrelay.changes import Change, record
from authrelay.context import Invalidate
from authrelay.errors import NotFound
from authrelay.mcp.catalog import served_tools
from authrelay.mcp.configs import find
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import cache as cache_store
from authrelay.store import connections as connection_store
from authrelay.store import mcp_oauth as store
from authrelay.store.db import new_id
from authrelay.store.models import McpConfig, McpOAuthClient, McpOAuthGrant


class GrantJson(TypedDict):
    """A grant as the API, CLI and dashboard show it."""

    id: str
    client_id: str
    client_name: str
    identifier: str
    config_id: str
    scope: str
    created_at: str
    last_used_at: str
    revoked_at: str


@dataclass(frozen=True)
class ConnectionState:
    name: str
    provider: str
    status: str  # the account's status, '' when the user has none
    enabled: bool

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


@dataclass(frozen=True)
class ConsentView:
    """What the consent page shows, and the digest of it a grant keeps."""

    client_id: str
    client_name: str
    logo_uri: str
    redirect_host: str
    identifier: str
    config_id: str
    config_name: str
    tools: list[str]
    connections: list[ConnectionState]
    scope: str

    @property
    def digest(self) -> str:
        """What was consented to: the config, its connections and tools, the scope (a
        change to any of them asks again)."""
        shown = {
            "config": self.config_id,
            "connections": sorted(c.name for c in self.connections),
            "tools": sorted(self.tools),
            "scope": self.scope,
        }
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()

    @property
    def all_connected(self) -> bool:
        return all(c.active for c in self.connections if c.enabled)


async def commit(
    session: AsyncSession, principal: Principal, invalidate: Invalidate, *changes: Change
) -> None:
    """Audit the changes, move the configuration generation (the MCP server's cached grant
    checks, in every process, depend on it), commit, drop this process's caches."""
    for change in changes:
        await record(session, principal, change)
    moved_to = await cache_store.bump(session)
    await session.commit()
    invalidate(moved_to)


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")


def grant_json(row: McpOAuthGrant, client: McpOAuthClient | None) -> GrantJson:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "client_name": client.name if client is not None else "",
        "identifier": row.identifier,
        "config_id": row.config_id,
        "scope": row.scope,
        "created_at": _time(row.created_at),
        "last_used_at": _time(row.last_used_at),
        "revoked_at": _time(row.revoked_at),
    }


def _snapshot(row: McpOAuthGrant) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "identifier": row.identifier,
        "config_id": row.config_id,
        "scope": row.scope,
    }


async def consent_view(
    session: AsyncSession,
    env_id: str,
    client_id: str,
    redirect_uri: str,
    identifier: str,
    config: McpConfig,
    scope: str,
) -> ConsentView:
    client = await store.client(session, env_id, client_id)
    states: list[ConnectionState] = []
    for mapping in list(config.mappings):
        connection = await connection_store.by_name(session, env_id, mapping["connection_name"])
        if connection is None:
            continue  # deleted since: it serves no tools
        account = await account_store.get(
            session,
            env_id,
            account_id=None,
            connection_id=connection.id,
            identifier=identifier,
        )
        states.append(
            ConnectionState(
                connection.name,
                connection.provider_identifier,
                account.status if account is not None else "",
                connection.enabled,
            )
        )
    read_only = config.access_level == "READ_ONLY"
    tools = sorted(await served_tools(session, env_id, list(config.mappings), read_only))
    return ConsentView(
        client_id=client_id,
        client_name=(client.name if client is not None else "") or client_id,
        logo_uri=(client.logo_uri or "") if client is not None else "",
        redirect_host=urlsplit(redirect_uri).netloc,
        identifier=identifier,
        config_id=config.id,
        config_name=config.name,
        tools=tools,
        connections=states,
        scope=scope,
    )


async def config_of(session: AsyncSession, env_id: str, config_id: str) -> McpConfig:
    config = await find(session, env_id, config_id)
    if config is None:
        raise NotFound(f"no MCP config {config_id!r}: it was deleted")
    return config


async def unchanged_grant(
    session: AsyncSession, env_id: str, view: ConsentView
) -> McpOAuthGrant | None:
    """The live grant that lets the page be skipped: same client, user and config, the same
    digest (config, connections, tools, scope), and every connection connected."""
    row = await store.live_grant(session, env_id, view.client_id, view.identifier, view.config_id)
    if row is None or row.consented != view.digest or not view.all_connected:
        return None
    return row


async def allow(
    session: AsyncSession, invalidate: Invalidate, env_id: str, view: ConsentView
) -> McpOAuthGrant:
    """The grant an Allow makes: the live grant of (client, user, config) with what was
    shown now, or a new one. Audited (`mcp_grant.create` / `mcp_grant.update`)."""
    principal = Principal(env_id, f"mcp-user:{view.identifier}")
    row = await store.live_grant(session, env_id, view.client_id, view.identifier, view.config_id)
    now = datetime.now(UTC)
    if row is None:
        row = McpOAuthGrant(
            id=new_id("mcpg"),
            environment_id=env_id,
            client_id=view.client_id,
            identifier=view.identifier,
            config_id=view.config_id,
            scope=view.scope,
            consented=view.digest,
            created_at=now,
        )
        session.add(row)
        action, before = "mcp_grant.create", None
    else:
        before = _snapshot(row)
        row.scope, row.consented = view.scope, view.digest
        action = "mcp_grant.update"
    await commit(session, principal, invalidate, Change(action, row.id, before, _snapshot(row)))
    return row


async def touch(session: AsyncSession, grant_id: str) -> None:
    """`last_used_at`: when the grant last got tokens (a sign-in or a refresh)."""
    row = await store.grant(session, grant_id)
    if row is not None:
        row.last_used_at = datetime.now(UTC)


async def live(session: AsyncSession, env_id: str, grant_id: str) -> bool:
    row = await store.grant(session, grant_id)
    return row is not None and row.environment_id == env_id and row.revoked_at is None


async def list_grants(
    session: AsyncSession, env_id: str, identifier: str | None, include_revoked: bool = False
) -> list[GrantJson]:
    rows = await store.grants(session, env_id, identifier, include_revoked=include_revoked)
    clients = {c.client_id: c for c in await store.clients(session, env_id)}
    return [grant_json(row, clients.get(row.client_id)) for row in rows]


def _end(row: McpOAuthGrant, now: datetime) -> Change:
    before = _snapshot(row)
    row.revoked_at = now
    return Change("mcp_grant.revoke", row.id, before, None)


async def revoke(
    session: AsyncSession, invalidate: Invalidate, principal: Principal, grant_id: str
) -> GrantJson:
    """End a grant: its refresh tokens at once, its access tokens at their next use (the
    MCP server's cached check, dropped by the cache generation this moves)."""
    row = await store.grant(session, grant_id)
    if row is None or row.environment_id != principal.environment_id or row.revoked_at:
        raise NotFound(f"no live MCP grant {grant_id!r} in this environment")
    change = _end(row, datetime.now(UTC))
    await store.revoke_grant_tokens(session, row.id)
    await commit(session, principal, invalidate, change)
    return grant_json(row, await store.client(session, row.environment_id, row.client_id))


async def end_client_grants(session: AsyncSession, env_id: str, client_id: str) -> list[Change]:
    """Revoke a client's live grants and their refresh tokens (the caller commits the
    returned audit changes with `commit_change`)."""
    now = datetime.now(UTC)
    changes: list[Change] = []
    for row in await store.client_grants(session, env_id, client_id):
        changes.append(_end(row, now))
        await store.revoke_grant_tokens(session, row.id)
    return changes
