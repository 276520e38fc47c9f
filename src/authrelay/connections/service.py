"""Connection management (SPEC §5), on Scalekit's app-connection routes."""

from __future__ import annotations

from typing import Any, cast

from authrelay.auth.principal import Principal
from authrelay.changes import Change, UniqueName, commit_change
from authrelay.connections.model import ConnectionInput, read_only_fields, without_read_only
from authrelay.context import ServiceContext
from authrelay.enums import AUTH_MODES, CONNECTION_TYPES, PATTERN_TYPES, enum_name
from authrelay.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.providers.grants import uses_client_credentials
from authrelay.providers.service import ResolvedProvider, resolve_provider
from authrelay.providers.validation import parse_strict
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import Connection
from authrelay.vault.contexts import connection_context
from authrelay_client.providers.model import AuthPattern
from authrelay_client.wire import (
    ConnectionBody,
    ConnectionOAuthConfigBody,
    ConnectionStatus,
    ConnectionType,
    ListConnectionsResponse,
    ListEnvironmentConnectionsResponse,
    ToggleConnectionResponse,
)

MAX_PAGE_SIZE = 30
_OAUTH_OPTIONS = (
    "pkce_enabled",
    "prompt",
    "access_type",
    "custom_scope_name",
    "token_endpoint_auth_method",
    "scope_selection_allowed",
)


def _ts(value: Any) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value else None


def _parse(raw: Any) -> ConnectionInput:
    extra = [FieldViolation(f, "is read-only") for f in read_only_fields(raw)]
    return parse_strict(ConnectionInput, without_read_only(raw), extra)


def required_scopes(pattern: AuthPattern) -> list[str]:
    config = pattern.oauth_config
    return [s.scope for s in config.available_scopes if s.required] if config else []


def effective_scopes(pattern: AuthPattern, chosen: list[str] | None) -> list[str]:
    return list(dict.fromkeys([*required_scopes(pattern), *(chosen or [])]))


def _status(row: Connection, pattern: AuthPattern | None) -> ConnectionStatus:
    if row.type != "OAUTH":
        return "COMPLETED"
    if pattern is not None and uses_client_credentials(pattern):
        names = {f.field_name for f in pattern.fields}
        if {"client_id", "client_secret"} <= names:  # each account brings its own client
            return "COMPLETED"
    return "COMPLETED" if row.config.get("client_id") and row.secret_ct else "DRAFT"


def connection_json(
    row: Connection, provider: ResolvedProvider | None, ctx: ServiceContext
) -> ConnectionBody:
    pattern = provider.pattern(row.type) if provider else None
    oauth: ConnectionOAuthConfigBody | None = None
    if row.type == "OAUTH":
        provider_oauth = pattern.oauth_config if pattern else None
        oauth = {
            "client_id": row.config.get("client_id", ""),
            "scopes": row.config.get("scopes", []),
            "redirect_uri": ctx.redirect_uri,
            "authorize_uri": provider_oauth.authorize_uri if provider_oauth else "",
            "token_uri": provider_oauth.token_uri if provider_oauth else "",
            "user_info_uri": (provider_oauth.user_info_uri or "") if provider_oauth else "",
            "required_scopes": required_scopes(pattern) if pattern else [],
            "pkce_enabled": row.config.get(
                "pkce_enabled", provider_oauth.pkce_enabled if provider_oauth else False
            ),
            "custom_scope_name": row.config.get(
                "custom_scope_name",
                (provider_oauth.custom_scope_name or "") if provider_oauth else "",
            ),
            "token_endpoint_auth_method": row.config.get(
                "token_endpoint_auth_method",
                provider_oauth.token_auth_method if provider_oauth else "client_secret_post",
            ),
            "prompt": row.config.get("prompt", ""),
            "access_type": row.config.get("access_type", ""),
            "scope_selection_allowed": row.config.get("scope_selection_allowed", False),
            "use_platform_creds": False,
        }
    return {
        "id": row.id,
        "type": cast(ConnectionType, row.type),
        "status": _status(row, pattern),
        "enabled": row.enabled,
        "provider_key": row.provider_identifier,
        "key_id": row.name,
        "auth_mode": row.config.get("auth_mode", "USER"),
        "create_time": _ts(row.created_at),
        "update_time": _ts(row.updated_at),
        "oauth_config": oauth,
        "static_config": {} if row.type != "OAUTH" else None,
        "resolved_proxy_url": provider.definition.proxy_url if provider else "",
    }


def _audit_view(row: Connection) -> dict[str, Any]:
    return {
        "key_id": row.name,
        "provider_key": row.provider_identifier,
        "type": row.type,
        "enabled": row.enabled,
        "config": dict(row.config),
        "client_secret_set": row.secret_ct is not None,
    }


async def _provider_or_raise(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, identifier: str
) -> ResolvedProvider:
    provider = await resolve_provider(session, principal.environment_id, ctx.catalog, identifier)
    if provider is None:
        raise InvalidArgument.field(
            "provider_key", f"no provider with identifier {identifier!r} in this environment"
        )
    return provider


def _apply_oauth(
    row: Connection, body: ConnectionInput, pattern: AuthPattern, ctx: ServiceContext
) -> None:
    oauth = body.oauth_config
    if oauth is None:
        if row.type == "OAUTH" and "scopes" not in row.config:
            row.config = {**row.config, "scopes": effective_scopes(pattern, None)}
        return
    if row.type != "OAUTH":
        raise InvalidArgument.field(
            "oauth_config", f"is only for OAUTH connections, not {row.type}"
        )
    if oauth.use_platform_creds:
        raise InvalidArgument.field(
            "oauth_config.use_platform_creds",
            "authrelay has no shared platform credentials; set client_id and client_secret",
        )
    config = dict(row.config)
    if oauth.client_id is not None:
        config["client_id"] = oauth.client_id
    if oauth.scopes is not None or "scopes" not in config:
        config["scopes"] = effective_scopes(pattern, oauth.scopes)
    for key in _OAUTH_OPTIONS:
        value = getattr(oauth, key)
        if value is not None:
            config[key] = value
    row.config = config
    if oauth.client_secret is not None:
        row.secret_ct = ctx.keyring.encrypt(oauth.client_secret, connection_context(row.id))


def _pattern_for(provider: ResolvedProvider, kind: str, field: str) -> AuthPattern:
    pattern = provider.pattern(kind)
    if pattern is None:
        kinds = ", ".join(p.type for p in provider.definition.auth_patterns)
        raise InvalidArgument.field(
            field, f"provider {provider.identifier!r} has no {kind} pattern (it has: {kinds})"
        )
    return pattern


async def create_connection(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> ConnectionBody:
    body = _parse(raw)
    if not body.provider_key:
        raise InvalidArgument.field("provider_key", "is required (the provider identifier)")
    provider = await _provider_or_raise(session, principal, ctx, body.provider_key)
    if body.type is not None:
        kind = enum_name(body.type, CONNECTION_TYPES, "type")
        if kind not in PATTERN_TYPES:
            raise InvalidArgument.field(
                "type", f"must be one of {', '.join(sorted(PATTERN_TYPES))}"
            )
    else:
        kind = provider.definition.auth_patterns[0].type
    pattern = _pattern_for(provider, kind, "type")
    if body.static_config and kind == "OAUTH":
        raise InvalidArgument.field("static_config", "is only for static (non-OAuth) connections")
    name = body.key_id or provider.identifier
    unique = _unique_name(session, principal, name)
    await unique.check()
    now = utcnow()
    row = Connection(
        id=new_id("conn"),
        environment_id=principal.environment_id,
        name=name,
        provider_identifier=provider.identifier,
        type=kind,
        enabled=True if body.enabled is None else body.enabled,
        config={"auth_mode": enum_name(body.auth_mode, AUTH_MODES, "auth_mode")}
        if body.auth_mode is not None
        else {},
        created_at=now,
        updated_at=now,
    )
    _apply_oauth(row, body, pattern, ctx)
    session.add(row)
    change = Change("connection.create", name, after=_audit_view(row))
    await unique.commit_change(session, ctx, principal, change)
    return connection_json(row, provider, ctx)


def _unique_name(session: AsyncSession, principal: Principal, name: str) -> UniqueName[Connection]:
    """A connection's name (`key_id`) is unique in its environment."""
    return UniqueName(lambda: store.by_name(session, principal.environment_id, name), _name_taken)


def _name_taken(row: Connection) -> AlreadyExists:
    return AlreadyExists(
        f"a connection named {row.name!r} already exists ({row.id}); choose another key_id",
        [FieldViolation("key_id", f"{row.name!r} is taken")],
    )


async def _get_or_raise(
    session: AsyncSession, principal: Principal, connection_id: str
) -> Connection:
    row = await store.get(session, principal.environment_id, connection_id)
    if row is None:
        raise NotFound(f"no connection {connection_id!r} in this environment")
    return row


async def get_connection(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, connection_id: str
) -> ConnectionBody:
    row = await _get_or_raise(session, principal, connection_id)
    provider = await resolve_provider(
        session, principal.environment_id, ctx.catalog, row.provider_identifier
    )
    return connection_json(row, provider, ctx)


async def _bodies(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, rows: list[Connection]
) -> list[ConnectionBody]:
    """`connection_json` of each row, each provider resolved once."""
    providers: dict[str, ResolvedProvider | None] = {}
    out = []
    for row in rows:
        if row.provider_identifier not in providers:
            providers[row.provider_identifier] = await resolve_provider(
                session, principal.environment_id, ctx.catalog, row.provider_identifier
            )
        out.append(connection_json(row, providers[row.provider_identifier], ctx))
    return out


async def list_connections(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    *,
    page_size: str | None,
    page_token: str | None,
    provider: str | None,
    query: str | None,
) -> ListConnectionsResponse:
    size = parse_page_size(page_size, MAX_PAGE_SIZE, default=MAX_PAGE_SIZE)
    after = decode_cursor(page_token) if page_token else None
    if after is not None and not isinstance(after, str):
        raise bad_token()
    rows, total = await store.page(
        session,
        principal.environment_id,
        provider=provider or None,
        query=query or None,
        after_name=after,
        limit=size + 1,
    )
    more = len(rows) > size
    rows = rows[:size]
    out = await _bodies(session, principal, ctx, rows)
    for body in out:
        body["created_at"] = body.get("create_time")
    return {
        "connections": out,
        "next_page_token": encode_cursor(rows[-1].name) if more else "",
        "total_size": total,
    }


async def update_connection(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, connection_id: str, raw: Any
) -> ConnectionBody:
    body = _parse(raw)
    row = await _get_or_raise(session, principal, connection_id)
    before = _audit_view(row)
    if body.provider_key is not None and body.provider_key != row.provider_identifier:
        raise InvalidArgument.field(
            "provider_key", "cannot change; create a new connection for another provider"
        )
    if body.type is not None and enum_name(body.type, CONNECTION_TYPES, "type") != row.type:
        raise InvalidArgument.field("type", "cannot change; create a new connection instead")
    provider = await _provider_or_raise(session, principal, ctx, row.provider_identifier)
    pattern = _pattern_for(provider, row.type, "type")
    unique = _unique_name(session, principal, body.key_id or "")
    if body.key_id is not None and body.key_id != row.name:
        await unique.check()
        row.name = body.key_id
    if body.enabled is not None:
        row.enabled = body.enabled
    if body.auth_mode is not None:
        row.config = {**row.config, "auth_mode": enum_name(body.auth_mode, AUTH_MODES, "auth_mode")}
    _apply_oauth(row, body, pattern, ctx)
    row.updated_at = utcnow()
    change = Change("connection.update", row.name, before=before, after=_audit_view(row))
    await unique.commit_change(session, ctx, principal, change)
    return connection_json(row, provider, ctx)


async def set_enabled(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    connection_id: str,
    enabled: bool,
) -> ToggleConnectionResponse:
    row = await _get_or_raise(session, principal, connection_id)
    before = _audit_view(row)
    row.enabled = enabled
    row.updated_at = utcnow()
    change = Change(
        "connection.enable" if enabled else "connection.disable",
        row.name,
        before=before,
        after=_audit_view(row),
    )
    await commit_change(session, ctx, principal, change)
    return {"enabled": enabled, "error_message": ""}


async def delete_connection(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    connection_id: str,
    force: bool,
) -> None:
    row = await _get_or_raise(session, principal, connection_id)
    count = await store.account_count(session, row.id)
    if count and not force:
        raise FailedPrecondition(
            f"connection {row.name!r} has {count} connected account{'s' if count != 1 else ''}; "
            "delete them first, or repeat with ?force=true to delete the connection and its "
            "connected accounts"
        )
    removed = await account_store.delete_for_connection(session, row.id)
    await session.delete(row)
    change = Change(
        "connection.delete",
        row.name,
        before={**_audit_view(row), "connected_accounts_deleted": removed},
    )
    await commit_change(session, ctx, principal, change)


MAX_UNPAGED = 1000  # ListConnections has no pages: at most this many, by name


async def list_environment_connections(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    *,
    organization_id: str | None,
    domain: str | None,
    include: str | None,
) -> ListEnvironmentConnectionsResponse:
    """ListConnections (`GET /api/v1/connections`) as Scalekit's ListConnection items.
    Connections here belong to the environment, never to an organization or a domain, so
    asking for one finds none; `include` (Scalekit's selector of extra SSO kinds) changes
    nothing."""
    if organization_id or domain:
        return {"connections": []}
    rows, _ = await store.page(
        session,
        principal.environment_id,
        provider=None,
        query=None,
        after_name=None,
        limit=MAX_UNPAGED,
    )
    return {
        "connections": [
            {
                "id": body["id"],
                "type": body["type"],
                "status": body["status"],
                "enabled": body["enabled"],
                "organization_id": "",
                "ui_button_title": "",
                "domains": [],
                "organization_name": "",
                "provider_key": body["provider_key"],
                "key_id": body["key_id"],
                "created_at": body.get("create_time"),
                "mcp_server_url": "",
                "auth_mode": body.get("auth_mode", "USER"),
            }
            for body in await _bodies(session, principal, ctx, rows)
        ]
    }
