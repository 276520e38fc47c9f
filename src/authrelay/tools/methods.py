"""ToolService's methods in Scalekit's shapes over authrelay's tools: UpdateTool (the tool
with its id in the body, fields left out kept), SetToolDefault and RefreshTools.

authrelay keeps one version of each tool name, always the default (`is_default` true), so
SetToolDefault only confirms the tool it names. RefreshTools answers the tools of a
connected account's provider as they are stored now (not from the per-process list
index), which is what a refresh can mean when tools come from provider definitions and
imports rather than from the upstream at connection time.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import FieldViolation, InvalidArgument, NotFound
from authrelay.providers.validation import parse_strict
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store import tools as store
from authrelay.tools import service
from authrelay.tools.model import validate_tool
from authrelay.tools.views import input_json, tool_json
from authrelay_client.providers.model import StrictModel
from authrelay_client.wire import RefreshToolsResponse, ToolBody

_ONE_VERSION = "authrelay keeps one version of each tool, which is its default"
_READ_ONLY = ("updated_at", "source")
Text = Annotated[str, StringConstraints(max_length=255)] | None


def _split_update(raw: Any) -> tuple[str | None, dict[str, Any], list[FieldViolation]]:
    """(the id, the tool's other fields, what is wrong with id and the read-only fields)."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object (the tool, with its id)")
    fields = dict(raw)
    violations: list[FieldViolation] = []
    tool_id = fields.pop("id", None)
    if not isinstance(tool_id, str) or not tool_id:
        violations.append(FieldViolation("id", "is required: the id of the tool to update"))
        tool_id = None
    if fields.pop("is_default", None) not in (True, None):
        violations.append(FieldViolation("is_default", _ONE_VERSION))
    for key in _READ_ONLY:
        fields.pop(key, None)
    return tool_id, fields, violations


async def update_tool(
    session: AsyncSession, principal: Principal, services: ServiceContext, raw: Any
) -> ToolBody:
    """UpdateTool (`PUT /api/v1/tools`): the stored tool with the body's fields over it,
    validated whole and saved as `PUT /api/v1/tools/{id}` saves it."""
    tool_id, fields, violations = _split_update(raw)
    if tool_id is None:
        raise InvalidArgument.from_violations(violations)
    row = await service.find_tool(session, principal.environment_id, tool_id)
    merged = {**input_json(row), **fields}
    if violations:
        try:
            validate_tool(merged)
        except InvalidArgument as exc:
            violations += exc.violations
        raise InvalidArgument.from_violations(violations)
    return await service.replace_tool(session, principal, services, row.id, merged)


class SetToolDefaultRequest(StrictModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    schema_version: Text = None
    tool_version: Text = None


async def set_tool_default(session: AsyncSession, principal: Principal, raw: Any) -> ToolBody:
    """SetToolDefault (`POST /api/v1/tools:set_default`): the named tool, already its own
    default; a version other than empty is refused (there is no other version)."""
    extra = [
        FieldViolation(key, f"must be empty: {_ONE_VERSION}")
        for key in ("schema_version", "tool_version")
        if isinstance(raw, dict) and isinstance(raw.get(key), str) and raw[key]
    ]
    body = parse_strict(SetToolDefaultRequest, raw, extra)
    row = await store.by_name(session, principal.environment_id, body.name)
    if row is None:
        raise NotFound(f"no tool named {body.name!r} in this environment")
    return tool_json(row)


class RefreshToolsRequest(StrictModel):
    identifier: Text = None
    connected_account_id: Text = None
    connector: Text = None
    organization_id: Text = None
    user_id: Text = None


async def _providers_of(session: AsyncSession, env_id: str, body: RefreshToolsRequest) -> set[str]:
    if body.connected_account_id:
        account = await account_store.by_id(session, body.connected_account_id)
        if account is None or account.environment_id != env_id:
            raise NotFound(f"no connected account {body.connected_account_id} in this environment")
        if body.identifier and body.identifier != account.identifier:
            raise InvalidArgument.field(
                "identifier", "does not match the identifier of connected_account_id"
            )
        connection = await connection_store.get(session, env_id, account.connection_id)
        return {connection.provider_identifier} if connection else set()
    if not body.identifier:
        raise InvalidArgument.field(
            "identifier", "name the account by connected_account_id, or by identifier"
        )
    pairs = await store.accounts_of(session, env_id, body.identifier)
    return {
        c.provider_identifier for _, c in pairs if not body.connector or c.name == body.connector
    }


async def refresh_tools(
    session: AsyncSession, principal: Principal, raw: Any
) -> RefreshToolsResponse:
    """RefreshTools (`POST /api/v1/tools:refresh`): the tools of the account's provider (of
    each account of `identifier`, on `connector` when given), read from the store now."""
    body = parse_strict(RefreshToolsRequest, raw)
    env_id = principal.environment_id
    tools: list[ToolBody] = []
    for provider in sorted(await _providers_of(session, env_id, body)):
        tools += [tool_json(row) for row in await store.page(session, env_id, providers=[provider])]
    return {"tools": tools, "total_size": len(tools)}
