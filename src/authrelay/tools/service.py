"""Tool management: create, replace, delete, and sync a provider's tools in one transaction
(OpenAPI imports, provider files, promotion). Every change is audited and moves the cache
generation, like provider changes."""

from __future__ import annotations

from typing import Any, Literal

from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from authrelay.providers.service import resolve_provider
from authrelay.store import AsyncSession, IntegrityError
from authrelay.store import tools as store
from authrelay.store.builtin_tools import builtin_by_name, is_builtin
from authrelay.store.db import new_id, utcnow
from authrelay.store.models import Tool
from authrelay.store.tool_rows import fill, new_row
from authrelay.tools.model import ToolInput, validate_tool
from authrelay.tools.views import full_json, input_json
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.wire import SyncToolsResponse, ToolBody, ToolRequest, ToolUpdateBody

Source = Literal["api", "file", "openapi", "promote"]
Prune = Literal["none", "source", "all"]
SOURCES = ("api", "file", "openapi", "promote")


async def provider_identifier(
    session: AsyncSession, env_id: str, services: ServiceContext, raw: str, field: str
) -> str:
    """The identifier of an existing provider (built-in or custom), from any spelling of it
    (`GITHUB`, `github`, `My Asana`)."""
    identifier = derive_identifier(raw)
    if (
        not identifier
        or await resolve_provider(session, env_id, services.catalog, identifier) is None
    ):
        raise InvalidArgument.field(field, f"no provider {raw!r} in this environment")
    return identifier


def _snapshot(tool: ToolRequest | None) -> dict[str, object] | None:
    return dict(tool) if tool is not None else None


def _change(
    action: str, name: str, before: ToolRequest | None, after: ToolRequest | None
) -> Change:
    """The audited change of one tool (the audit log names tools by name)."""
    return Change(action, name, _snapshot(before), _snapshot(after))


def _read_only(row: Tool) -> Tool:
    if is_builtin(row):
        raise PermissionDenied(
            f"{row.name!r} is a built-in tool and cannot be changed or deleted; create a "
            "custom tool under another name instead"
        )
    return row


def _taken(name: str) -> AlreadyExists:
    if builtin_by_name(name) is not None:
        return AlreadyExists(
            f"{name!r} is the name of a built-in tool; choose another name",
            [FieldViolation("definition.name", "is taken by a built-in tool")],
        )
    return AlreadyExists(
        f"a tool named {name!r} already exists in this environment; replace it with "
        f"PUT /api/v1/tools/{name} or choose another name",
        [FieldViolation("definition.name", "is taken")],
    )


def _new_row(env_id: str, identifier: str, tool: ToolInput, source: str) -> Tool:
    return new_row(tool, new_id("tol"), env_id, identifier, source, utcnow())


async def _check_cap(
    session: AsyncSession, env_id: str, identifier: str, services: ServiceContext, adding: int
) -> None:
    cap = services.max_tools_per_provider
    have = await store.count(session, env_id, providers=[identifier])
    if have + adding > cap:
        raise InvalidArgument.field(
            "tools",
            f"provider {identifier!r} would have {have + adding} tools, over the limit of {cap} "
            "(AUTHRELAY_MAX_TOOLS_PER_PROVIDER); import fewer operations (--include) or raise it",
        )


async def find_tool(session: AsyncSession, env_id: str, id_or_name: str) -> Tool:
    row = (
        await store.by_id(session, env_id, id_or_name)
        if id_or_name.startswith("tol_")
        else await store.by_name(session, env_id, id_or_name)
    )
    if row is None:
        raise NotFound(f"no tool {id_or_name!r} in this environment")
    return row


async def create_tool(
    session: AsyncSession, principal: Principal, services: ServiceContext, raw: Any
) -> ToolBody:
    tool = validate_tool(raw)
    env_id = principal.environment_id
    identifier = await provider_identifier(session, env_id, services, tool.provider, "provider")
    if await store.by_name(session, env_id, tool.definition.name) is not None:
        raise _taken(tool.definition.name)
    await _check_cap(session, env_id, identifier, services, 1)
    row = _new_row(env_id, identifier, tool, "api")
    session.add(row)
    body = full_json(row)
    try:
        change = _change("tool.create", row.name, None, input_json(row))
        await commit_change(session, services, principal, change)
    except IntegrityError:
        await session.rollback()
        raise _taken(tool.definition.name) from None
    return body


async def replace_tool(
    session: AsyncSession, principal: Principal, services: ServiceContext, key: str, raw: Any
) -> ToolBody:
    tool = validate_tool(raw)
    env_id = principal.environment_id
    row = _read_only(await find_tool(session, env_id, key))
    identifier = await provider_identifier(session, env_id, services, tool.provider, "provider")
    if tool.definition.name != row.name:
        if await store.by_name(session, env_id, tool.definition.name) is not None:
            raise _taken(tool.definition.name)
    if identifier != row.provider_identifier:
        await _check_cap(session, env_id, identifier, services, 1)
    before = input_json(row)
    fill(row, tool, identifier, row.source if row.source != "openapi" else "api", utcnow())
    body = full_json(row)
    try:
        change = _change("tool.update", row.name, before, input_json(row))
        await commit_change(session, services, principal, change)
    except IntegrityError:
        await session.rollback()
        raise _taken(tool.definition.name) from None
    return body


async def delete_tool(
    session: AsyncSession, principal: Principal, services: ServiceContext, key: str
) -> None:
    row = _read_only(await find_tool(session, principal.environment_id, key))
    before = input_json(row)
    await session.delete(row)
    change = _change("tool.delete", row.name, before, None)
    await commit_change(session, services, principal, change)


async def get_tool(session: AsyncSession, principal: Principal, key: str) -> ToolBody:
    return full_json(await find_tool(session, principal.environment_id, key))


def _parse_sync(raw: Any) -> tuple[str, list[Any], Prune, Source, bool]:
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    violations: list[FieldViolation] = []
    unknown = set(raw) - {"provider", "tools", "prune", "source", "dry_run"}
    violations += [FieldViolation(k, f"unknown field {k!r}") for k in sorted(unknown)]
    provider, tools = raw.get("provider"), raw.get("tools")
    prune, source = raw.get("prune", "none"), raw.get("source", "api")
    dry_run = raw.get("dry_run", False)
    if not isinstance(provider, str) or not provider:
        violations.append(FieldViolation("provider", "is required (a provider identifier)"))
    if not isinstance(tools, list):
        violations.append(FieldViolation("tools", "must be a list of tools"))
    if prune not in ("none", "source", "all"):
        violations.append(FieldViolation("prune", "must be none, source or all"))
    if source not in SOURCES:
        violations.append(FieldViolation("source", f"must be one of {', '.join(SOURCES)}"))
    if not isinstance(dry_run, bool):
        violations.append(FieldViolation("dry_run", "must be a boolean"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    assert isinstance(provider, str) and isinstance(tools, list)
    return provider, tools, prune, source, dry_run


def _changed_parts(row: Tool, wanted: ToolRequest) -> list[str]:
    current = input_json(row)
    parts: tuple[Literal["definition", "binding", "metadata", "tags"], ...] = (
        "definition",
        "binding",
        "metadata",
        "tags",
    )
    return [k for k in parts if current.get(k) != wanted.get(k)]


async def sync_tools(
    session: AsyncSession, principal: Principal, services: ServiceContext, raw: Any
) -> SyncToolsResponse:
    """Make one provider's tools match a list, in one transaction: create the new ones,
    replace the changed ones, and with `prune` delete the provider's other tools (`source`:
    only those from the same source; `all`: every other one). `dry_run` only reports."""
    provider, items, prune, source, dry_run = _parse_sync(raw)
    env_id = principal.environment_id
    identifier = await provider_identifier(session, env_id, services, provider, "provider")
    parsed: list[ToolInput] = []
    violations: list[FieldViolation] = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and "provider" not in item:
            item = {**item, "provider": identifier}
        try:
            tool = validate_tool(item)
        except InvalidArgument as exc:
            violations += [
                FieldViolation(f"tools[{i}].{v.field}", v.description) for v in exc.violations
            ]
            continue
        if derive_identifier(tool.provider) != identifier:
            violations.append(FieldViolation(f"tools[{i}].provider", f"must be {identifier!r}"))
        parsed.append(tool)
    names = [t.definition.name for t in parsed]
    dupes = sorted({n for n in names if names.count(n) > 1})
    violations += [FieldViolation("tools", f"the name {n!r} appears more than once") for n in dupes]
    if violations:
        raise InvalidArgument.from_violations(violations)
    existing = {row.name: row for row in await store.for_provider(session, env_id, identifier)}
    others = sorted({n for n in names if n not in existing})
    clashes = [
        row
        for i in range(0, len(others), 500)  # stay under SQLite's bound-parameter limit
        for row in await store.page(session, env_id, names=others[i : i + 500])
    ]
    for clash in clashes:
        violations.append(
            FieldViolation(
                "tools",
                f"the name {clash.name!r} is taken by a tool of provider "
                f"{clash.provider_identifier!r}",
            )
        )
    if violations:
        raise InvalidArgument.from_violations(violations)
    created: list[str] = []
    updated: list[ToolUpdateBody] = []
    unchanged: list[str] = []
    changes: list[Change] = []
    for tool in parsed:
        name = tool.definition.name
        row = existing.get(name)
        if row is None:
            created.append(name)
            new = _new_row(env_id, identifier, tool, source)
            changes.append(_change("tool.create", name, None, input_json(new)))
            if not dry_run:
                session.add(new)
            continue
        wanted = input_json(_new_row(env_id, identifier, tool, source))
        parts = _changed_parts(row, wanted)
        if not parts:
            unchanged.append(name)
            continue
        updated.append({"name": name, "fields": parts})
        before = input_json(row)
        if not dry_run:
            fill(row, tool, identifier, source, utcnow())
        changes.append(_change("tool.update", name, before, wanted))
    deleted: list[str] = []
    wanted_names = set(names)
    for name, row in existing.items():
        if name in wanted_names or prune == "none" or (prune == "source" and row.source != source):
            continue
        deleted.append(name)
        changes.append(_change("tool.delete", name, input_json(row), None))
        if not dry_run:
            await session.delete(row)
    total = len(existing) + len(created) - len(deleted)
    if total > services.max_tools_per_provider:
        await session.rollback()
        await _check_cap(session, env_id, identifier, services, total - len(existing))
    result: SyncToolsResponse = {
        "provider": identifier,
        "created": created,
        "updated": updated,
        "deleted": deleted,
        "unchanged": unchanged,
        "dry_run": dry_run,
    }
    if dry_run or not changes:
        await session.rollback()
        return result
    try:
        await commit_change(session, services, principal, *changes)
    except IntegrityError:
        await session.rollback()
        raise AlreadyExists(
            "another change to these tools happened at the same time; retry"
        ) from None
    return result
