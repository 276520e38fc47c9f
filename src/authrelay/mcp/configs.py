"""MCP configs (Scalekit's `mcpMcpConfig`): create, read, replace, delete, and the URLs they
serve. The state of an end user's accounts on a config's connections is `mcp/accounts.py`;
session tokens for a config's MCP URL, `mcp/sessions.py`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypedDict, cast

from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.store import AsyncSession, IntegrityError
from authrelay.store import connections as connection_store
from authrelay.store import mcp_configs as config_store
from authrelay.store import tools as tool_store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import McpConfig
from authrelay_client.wire import (
    AccessLevel,
    ListMcpConfigsResponse,
    McpConfigBody,
    McpConnectionMappingInput,
)

SERVERS_PATH = "/mcp/v3/servers/"
CONNECTIONS_PATH = "/mcp/v3/connections/"
ACCESS_LEVELS = ("FULL", "READ_ONLY")
MAX_MAPPINGS = 25
_NAME = re.compile(r"^[a-z0-9_-]{1,100}$")
_FIELDS = {"name", "description", "connection_tool_mappings", "access_level"}
# Read-only fields of Scalekit's shapes: accepted (a fetched config can be sent back) and ignored
_READ_ONLY = {"id", "mcp_server_url", "created_at", "updated_at"}
_MAPPING_READ_ONLY = {
    "connection_id",
    "provider",
    "connected_account_id",
    "connected_account_status",
}


def server_url(public_url: str, config_id: str) -> str:
    return f"{public_url}{SERVERS_PATH}{config_id}"


def config_json(
    row: McpConfig, public_url: str, providers: dict[str, tuple[str, str]]
) -> McpConfigBody:
    """`mcpMcpConfig`; `providers` maps connection name → (connection id, provider)."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "access_level": cast(AccessLevel, row.access_level),
        "mcp_server_url": server_url(public_url, row.id),
        "connection_tool_mappings": [
            {
                "connection_name": m["connection_name"],
                "connection_id": providers.get(m["connection_name"], ("", ""))[0],
                "provider": providers.get(m["connection_name"], ("", ""))[1].upper(),
                "tools": list(m.get("tools", [])),
            }
            for m in row.mappings
        ],
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def timestamp(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


async def providers_of(
    session: AsyncSession, env_id: str, rows: list[McpConfig]
) -> dict[str, tuple[str, str]]:
    names = {m["connection_name"] for r in rows for m in r.mappings}
    found: dict[str, tuple[str, str]] = {}
    for name in sorted(names):
        connection = await connection_store.by_name(session, env_id, name)
        if connection is not None:
            found[name] = (connection.id, connection.provider_identifier)
    return found


class ConfigFields(TypedDict, total=False):
    """The checked fields of a create (all of them) or a replace (those it names), as
    stored: `mappings` are `{connection_name, tools}`."""

    name: str
    description: str
    access_level: AccessLevel
    mappings: list[McpConnectionMappingInput]


async def _parse(session: AsyncSession, env_id: str, raw: Any, *, creating: bool) -> ConfigFields:
    """The validated fields of a create (all) or replace (PUT: description, mappings,
    access_level) body, every bad field named."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    allowed = _FIELDS | _READ_ONLY
    violations = [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - allowed)]
    out: ConfigFields = {}
    name = raw.get("name")
    if creating:
        if not isinstance(name, str) or not _NAME.match(name):
            violations.append(FieldViolation("name", "is required: 1-100 of a-z, 0-9, '-' and '_'"))
        else:
            out["name"] = name
    elif name is not None and not isinstance(name, str):
        violations.append(FieldViolation("name", "must be a string"))
    description = raw.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        violations.append(
            FieldViolation("description", "must be a string of at most 2000 characters")
        )
    elif creating or "description" in raw:
        out["description"] = description
    level = raw.get("access_level", "FULL")
    if level not in ACCESS_LEVELS:
        violations.append(FieldViolation("access_level", "must be FULL or READ_ONLY"))
    elif creating or "access_level" in raw:
        out["access_level"] = level
    mappings = raw.get("connection_tool_mappings")
    if creating or "connection_tool_mappings" in raw:
        parsed = await _mappings(session, env_id, mappings, violations)
        if parsed is not None:
            out["mappings"] = parsed
    if violations:
        raise InvalidArgument.from_violations(violations)
    return out


async def _mappings(
    session: AsyncSession, env_id: str, raw: Any, violations: list[FieldViolation]
) -> list[McpConnectionMappingInput] | None:
    field = "connection_tool_mappings"
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MAPPINGS:
        violations.append(FieldViolation(field, f"must be a list of 1 to {MAX_MAPPINGS} mappings"))
        return None
    out: list[McpConnectionMappingInput] = []
    seen: set[str] = set()
    before = len(violations)
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            violations.append(FieldViolation(where, "must be an object {connection_name, tools}"))
            continue
        extra = set(item) - {"connection_name", "tools"} - _MAPPING_READ_ONLY
        violations += [
            FieldViolation(f"{where}.{k}", f"unknown field {k!r}") for k in sorted(extra)
        ]
        name, tools = item.get("connection_name"), item.get("tools", [])
        if tools is None:
            tools = []
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            violations.append(FieldViolation(f"{where}.tools", "must be a list of tool names"))
            tools = []
        if not isinstance(name, str) or not name:
            violations.append(FieldViolation(f"{where}.connection_name", "is required"))
            continue
        if name in seen:
            violations.append(FieldViolation(f"{where}.connection_name", "is listed twice"))
            continue
        seen.add(name)
        connection = await connection_store.by_name(session, env_id, name)
        if connection is None:
            violations.append(
                FieldViolation(f"{where}.connection_name", f"no connection named {name!r}")
            )
            continue
        for j, tool_name in enumerate(tools):
            tool = await tool_store.by_name(session, env_id, tool_name)
            if tool is None or tool.provider_identifier != connection.provider_identifier:
                violations.append(
                    FieldViolation(
                        f"{where}.tools[{j}]",
                        f"no tool {tool_name!r} of provider {connection.provider_identifier!r}",
                    )
                )
        out.append({"connection_name": name, "tools": sorted(set(tools))})
    return out if len(violations) == before else None


async def get_row(session: AsyncSession, env_id: str, config_id: str) -> McpConfig:
    row = await config_store.get(session, env_id, config_id)
    if row is None:
        raise NotFound(f"no MCP config {config_id!r} in this environment")
    return row


async def find(session: AsyncSession, env_id: str, config_id: str) -> McpConfig | None:
    return await config_store.get(session, env_id, config_id)


def _snapshot(row: McpConfig) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "access_level": row.access_level,
        "mappings": row.mappings,
    }


async def _respond(session: AsyncSession, row: McpConfig, public_url: str) -> McpConfigBody:
    return config_json(row, public_url, await providers_of(session, row.environment_id, [row]))


async def create(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> McpConfigBody:
    env_id = principal.environment_id
    fields = await _parse(session, env_id, raw, creating=True)
    if await config_store.name_taken(session, env_id, fields["name"]):
        raise AlreadyExists(
            f"an MCP config named {fields['name']!r} already exists",
            [FieldViolation("name", "is taken")],
        )
    now = utcnow()
    row = McpConfig(
        id=new_id("cfg"), environment_id=env_id, created_at=now, updated_at=now, **fields
    )
    session.add(row)
    try:
        change = Change("mcp_config.create", row.id, after=_snapshot(row))
        await commit_change(session, ctx, principal, change)
    except IntegrityError:
        await session.rollback()
        raise AlreadyExists(
            f"an MCP config named {fields['name']!r} already exists",
            [FieldViolation("name", "is taken")],
        ) from None
    return await _respond(session, row, ctx.public_url)


async def get(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, config_id: str
) -> McpConfigBody:
    row = await get_row(session, principal.environment_id, config_id)
    return await _respond(session, row, ctx.public_url)


async def replace(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, config_id: str, raw: Any
) -> McpConfigBody:
    row = await get_row(session, principal.environment_id, config_id)
    fields = await _parse(session, principal.environment_id, raw, creating=False)
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"] != row.name:
        raise InvalidArgument.field("name", "cannot be changed (delete and create instead)")
    before = _snapshot(row)
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    change = Change("mcp_config.update", row.id, before, _snapshot(row))
    await commit_change(session, ctx, principal, change)
    return await _respond(session, row, ctx.public_url)


async def delete(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, config_id: str
) -> None:
    row = await get_row(session, principal.environment_id, config_id)
    before = _snapshot(row)
    await session.delete(row)
    await commit_change(session, ctx, principal, Change("mcp_config.delete", row.id, before))


async def list_configs(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    *,
    config_id: str | None,
    name: str | None,
    page_size: str | None,
    page_token: str | None,
) -> ListMcpConfigsResponse:
    env_id = principal.environment_id
    size = parse_page_size(page_size, 100)
    after = 0
    if page_token:
        data = decode_cursor(page_token)
        if not isinstance(data, dict) or not isinstance(data.get("a"), int):
            raise bad_token()
        after = int(data["a"])
    total, rows = await config_store.page(
        session, env_id, config_id=config_id, name=name, after=after, size=size
    )
    next_token = encode_cursor({"a": rows[size - 1].seq}) if len(rows) > size else ""
    rows = rows[:size]
    providers = await providers_of(session, env_id, rows)
    return {
        "configs": [config_json(r, ctx.public_url, providers) for r in rows],
        "next_page_token": next_token,
        "prev_page_token": "",
        "total_size": int(total or 0),
    }


def identifier_of(raw: dict[str, Any], violations: list[FieldViolation]) -> str:
    value = raw.get("identifier")
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        violations.append(FieldViolation("identifier", "is required: 1-255 characters"))
        return ""
    return value
