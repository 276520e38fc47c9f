"""Session tokens for MCP URLs: `POST /api/v1/mcp/configs/{id}/tokens` and
`POST /api/v1/mcp/connections/{name}/tokens` (`{identifier, expiry, access_level}` →
`{token, expires_at, mcp_server_url, access_level}`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from authrelay.auth.jwt_keys import KeySet
from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import FieldViolation, InvalidArgument, NotFound
from authrelay.mcp import tokens
from authrelay.mcp.configs import CONNECTIONS_PATH, get_row, identifier_of, server_url
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay_client.wire import AccessLevel, McpTokenResponse


async def account_ids(
    session: AsyncSession, env_id: str, identifier: str, connection_names: list[str]
) -> list[str]:
    ids: list[str] = []
    for name in connection_names:
        connection = await connection_store.by_name(session, env_id, name)
        if connection is None:
            continue
        account = await account_store.get(
            session, env_id, account_id=None, connection_id=connection.id, identifier=identifier
        )
        if account is not None:
            ids.append(account.id)
    return ids


#: the request's own fields, and the path's (Scalekit's `mcp_config_id`, `key_id`), which a
#: body may repeat
_FIELDS = {"identifier", "expiry", "access_level", "mcp_config_id", "key_id"}


def _token_body(raw: Any, path_field: str, path_value: str) -> tuple[str, int, str]:
    """(identifier, seconds, access level) of a token request, every bad field named."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    violations = [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - _FIELDS)]
    for key in ("mcp_config_id", "key_id"):
        if (
            key in raw
            and raw[key] not in ("", None)
            and (key, raw[key])
            != (
                path_field,
                path_value,
            )
        ):
            violations.append(FieldViolation(key, "does not match the path"))
    identifier = identifier_of(raw, violations)
    seconds, level = 0, "FULL"
    try:
        seconds = tokens.parse_expiry(raw.get("expiry"))
    except InvalidArgument as exc:
        violations += exc.violations
    try:
        level = tokens.parse_access_level(raw.get("access_level"))
    except InvalidArgument as exc:
        violations += exc.violations
    if violations:
        raise InvalidArgument.from_violations(violations)
    return identifier, seconds, level


def _token_json(token: str, expires: int, url: str, level: str) -> McpTokenResponse:
    """Scalekit's `{token, expires_at}`, plus the URL the token opens and its access level."""
    when = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
    return {
        "token": token,
        "expires_at": when,
        "mcp_server_url": url,
        "access_level": cast(AccessLevel, level),
    }


async def config_token(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    keys: KeySet,
    config_id: str,
    raw: Any,
) -> McpTokenResponse:
    """`{identifier, expiry, access_level}` → `{token, expires_at}` for the config's MCP URL."""
    identifier, seconds, level = _token_body(raw, "mcp_config_id", config_id)
    env_id = principal.environment_id
    row = await get_row(session, env_id, config_id)
    names = [m["connection_name"] for m in row.mappings]
    url = server_url(ctx.public_url, row.id)
    token, expires = tokens.issue(
        keys,
        environment_id=env_id,
        identifier=identifier,
        audience=url,
        config_id=row.id,
        connection="",
        account_ids=await account_ids(session, env_id, identifier, names),
        seconds=seconds,
        access_level=level,
    )
    return _token_json(token, expires, url, level)


async def connection_token(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    keys: KeySet,
    connection_name: str,
    raw: Any,
) -> McpTokenResponse:
    """`{identifier, expiry, access_level}` → `{token, expires_at}` for one connection's MCP
    URL."""
    identifier, seconds, level = _token_body(raw, "key_id", connection_name)
    env_id = principal.environment_id
    connection = await connection_store.by_name(session, env_id, connection_name)
    if connection is None:
        raise NotFound(f"no connection named {connection_name!r} in this environment")
    url = f"{ctx.public_url}{CONNECTIONS_PATH}{connection.name}"
    token, expires = tokens.issue(
        keys,
        environment_id=env_id,
        identifier=identifier,
        audience=url,
        config_id="",
        connection=connection.name,
        account_ids=await account_ids(session, env_id, identifier, [connection.name]),
        seconds=seconds,
        access_level=level,
    )
    return _token_json(token, expires, url, level)
