"""MCP instances (Scalekit's `mcpMcpInstance`): a named per-user instance of an MCP config,
with a pre-authenticated URL (`/mcp/v3/instances/{key}`) that serves the config's tools as
that user, no session token needed. Ensure, get, list, update, delete; the auth state of an
instance's connections is `mcp/accounts.py` (it makes authorization links).

The identity `EnsureMcpInstance` keeps is (config, user identifier, name): the name defaults
to the config's, so ensuring (config, user) twice returns one instance, and a caller who
wants two instances of one config for one user names them. The URL's key is random (256
bits), stored as a hash (how an MCP request finds the instance) and sealed by the vault
(so the URL can be shown again); it never changes. Instance changes are audited
(`mcp_instance.*`) but do not move the cache generation: the MCP server reads the instance
on every request, so a deleted instance's URL stops working at once, on every replica."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from authrelay.auth.client_secrets import hash_secret
from authrelay.auth.principal import Principal
from authrelay.changes import Change, record
from authrelay.context import ServiceContext
from authrelay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from authrelay.mcp.configs import config_json, providers_of, timestamp
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.store import AsyncSession, IntegrityError
from authrelay.store import mcp_configs as config_store
from authrelay.store import mcp_instances as store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import McpConfig, McpInstance
from authrelay.vault.contexts import mcp_instance_context
from authrelay_client.wire import ListMcpInstancesResponse, McpInstanceBody

INSTANCES_PATH = "/mcp/v3/instances/"
KEY_PREFIX = "mi_"
MAX_PAGE = 100
#: `last_used_at` is written at most once per this interval per instance
TOUCH_INTERVAL = timedelta(seconds=60)
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
_IDENTIFIER_MAX = 255


def url_of(public_url: str, key: str) -> str:
    return f"{public_url}{INSTANCES_PATH}{key}"


def key_hash(key: str) -> str:
    """How an instance is found from its URL's key."""
    return hash_secret(key)


def _key(row: McpInstance, ctx: ServiceContext) -> str:
    return ctx.keyring.decrypt(row.secret_ct, mcp_instance_context(row.id))


def instance_json(
    row: McpInstance,
    config: McpConfig,
    ctx: ServiceContext,
    providers: dict[str, tuple[str, str]],
) -> McpInstanceBody:
    """`mcpMcpInstance` (`last_used_at` only once the URL has been used)."""
    body: McpInstanceBody = {
        "id": row.id,
        "name": row.name,
        "user_identifier": row.user_identifier,
        "config": config_json(config, ctx.public_url, providers),
        "updated_at": timestamp(row.updated_at),
        "url": url_of(ctx.public_url, _key(row, ctx)),
    }
    if row.last_used_at is not None:
        body["last_used_at"] = timestamp(row.last_used_at)
    return body


def _snapshot(row: McpInstance) -> dict[str, Any]:
    return {"name": row.name, "config_id": row.config_id, "user_identifier": row.user_identifier}


def _body(raw: Any, allowed: set[str]) -> tuple[dict[str, Any], list[FieldViolation]]:
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    return raw, [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - allowed)]


def _name(raw: dict[str, Any], violations: list[FieldViolation]) -> str:
    """The `name` given ('' when left out or empty: proto3's unset string)."""
    value = raw.get("name")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _NAME.match(value) or not value.strip():
        violations.append(
            FieldViolation("name", "must be 1-100 characters, not only spaces, no control ones")
        )
        return ""
    return value


def _config_name(raw: dict[str, Any], violations: list[FieldViolation], *, required: bool) -> str:
    value = raw.get("config_name")
    if value is None or value == "":
        if required:
            violations.append(FieldViolation("config_name", "is required: an MCP config's name"))
        return ""
    if not isinstance(value, str) or len(value) > 100:
        violations.append(FieldViolation("config_name", "must be an MCP config's name"))
        return ""
    return value


async def _config_named(session: AsyncSession, env_id: str, name: str) -> McpConfig:
    row = await config_store.by_name(session, env_id, name)
    if row is None:
        raise NotFound(
            f"no MCP config named {name!r} in this environment",
            [FieldViolation("config_name", "no such MCP config")],
        )
    return row


async def _respond(
    session: AsyncSession, row: McpInstance, config: McpConfig, ctx: ServiceContext
) -> McpInstanceBody:
    providers = await providers_of(session, row.environment_id, [config])
    return instance_json(row, config, ctx, providers)


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(
        f"this user already has an instance named {name!r} of that MCP config",
        [FieldViolation("name", "is taken")],
    )


async def ensure(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> McpInstanceBody:
    """`{name?, config_name, user_identifier}` → the instance with that (config, user, name),
    made when there is none."""
    body, violations = _body(raw, {"name", "config_name", "user_identifier"})
    name = _name(body, violations)
    config_name = _config_name(body, violations, required=True)
    user = body.get("user_identifier")
    if not isinstance(user, str) or not user.strip() or len(user) > _IDENTIFIER_MAX:
        violations.append(FieldViolation("user_identifier", "is required: 1-255 characters"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    assert isinstance(user, str)
    env_id = principal.environment_id
    config = await _config_named(session, env_id, config_name)
    name = name or config.name
    found = await store.find(session, config.id, user, name)
    if found is not None:
        return await _respond(session, found, config, ctx)
    now = utcnow()
    row_id = new_id("mcpi")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = McpInstance(
        id=row_id,
        environment_id=env_id,
        config_id=config.id,
        name=name,
        user_identifier=user,
        key_hash=key_hash(key),
        secret_ct=ctx.keyring.encrypt(key, mcp_instance_context(row_id)),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        await record(
            session, principal, Change("mcp_instance.create", row.id, after=_snapshot(row))
        )
        await session.commit()
    except IntegrityError:  # a concurrent ensure made it first: answer with that one
        await session.rollback()
        found = await store.find(session, config.id, user, name)
        if found is None:
            raise
        return await _respond(session, found, config, ctx)
    return await _respond(session, row, config, ctx)


async def _row(session: AsyncSession, env_id: str, instance_id: str) -> McpInstance:
    row = await store.get(session, env_id, instance_id)
    if row is None:
        raise NotFound(f"no MCP instance {instance_id!r} in this environment")
    return row


async def get_row(
    session: AsyncSession, env_id: str, instance_id: str
) -> tuple[McpInstance, McpConfig]:
    """The instance and its config, or NotFound."""
    row = await _row(session, env_id, instance_id)
    config = await config_store.get(session, env_id, row.config_id)
    if config is None:  # deleted since (the rows cascade): as if the instance were gone
        raise NotFound(f"no MCP instance {instance_id!r} in this environment")
    return row, config


async def get(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, instance_id: str
) -> McpInstanceBody:
    row, config = await get_row(session, principal.environment_id, instance_id)
    return await _respond(session, row, config, ctx)


async def update(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, instance_id: str, raw: Any
) -> McpInstanceBody:
    """`{name?, config_name?}`: the fields given change (empty ones are left as they are);
    the URL stays."""
    body, violations = _body(raw, {"instance_id", "name", "config_name"})
    if body.get("instance_id") not in (None, "", instance_id):
        violations.append(FieldViolation("instance_id", "differs from the instance in the path"))
    name = _name(body, violations)
    config_name = _config_name(body, violations, required=False)
    if violations:
        raise InvalidArgument.from_violations(violations)
    env_id = principal.environment_id
    row, config = await get_row(session, env_id, instance_id)
    if config_name:
        config = await _config_named(session, env_id, config_name)
    name = name or row.name
    if (config.id, name) == (row.config_id, row.name):
        return await _respond(session, row, config, ctx)
    holder = await store.find(session, config.id, row.user_identifier, name)
    if holder is not None:
        raise _taken(name)
    before = _snapshot(row)
    row.config_id, row.name, row.updated_at = config.id, name, utcnow()
    try:
        change = Change("mcp_instance.update", row.id, before, _snapshot(row))
        await record(session, principal, change)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _taken(name) from None
    return await _respond(session, row, config, ctx)


async def delete(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, instance_id: str
) -> None:
    row = await _row(session, principal.environment_id, instance_id)
    before = _snapshot(row)
    await session.delete(row)
    await record(session, principal, Change("mcp_instance.delete", row.id, before))
    await session.commit()


async def list_instances(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    *,
    instance_id: str | None,
    name: str | None,
    config_name: str | None,
    user_identifier: str | None,
    search: str | None,
    page_size: str | None,
    page_token: str | None,
) -> ListMcpInstancesResponse:
    """A keyset page in creation order; the filters are exact matches, `search` a
    case-insensitive substring of the name."""
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE)
    after = 0
    if page_token:
        data = decode_cursor(page_token)
        if not isinstance(data, dict) or not isinstance(data.get("a"), int):
            raise bad_token()
        after = int(data["a"])
    empty: ListMcpInstancesResponse = {
        "instances": [],
        "next_page_token": "",
        "prev_page_token": "",
        "total_size": 0,
    }
    config_id = None
    if config_name:
        config = await config_store.by_name(session, env_id, config_name)
        if config is None:
            return empty
        config_id = config.id
    total, rows = await store.page(
        session,
        env_id,
        instance_id=instance_id,
        name=name,
        config_id=config_id,
        user_identifier=user_identifier,
        search=search,
        after=after,
        size=size,
    )
    next_token = encode_cursor({"a": rows[size - 1].seq}) if len(rows) > size else ""
    rows = rows[:size]
    configs = await store.config_names(session, list({r.config_id for r in rows}))
    providers = await providers_of(session, env_id, list(configs.values()))
    return {
        "instances": [
            instance_json(r, configs[r.config_id], ctx, providers)
            for r in rows
            if r.config_id in configs
        ],
        "next_page_token": next_token,
        "prev_page_token": "",
        "total_size": int(total or 0),
    }


async def by_key(session: AsyncSession, key: str) -> McpInstance | None:
    """The instance whose URL carries `key` (the MCP server's look-up)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return await store.by_key_hash(session, key_hash(key))


async def touch(session: AsyncSession, row: McpInstance) -> None:
    """Record a use of the instance's URL (at most once per `TOUCH_INTERVAL`)."""
    now = utcnow()
    last = row.last_used_at
    if last is not None and now - as_utc(last) < TOUCH_INTERVAL:
        return
    await store.touch(session, row.id, now, now - TOUCH_INTERVAL)
