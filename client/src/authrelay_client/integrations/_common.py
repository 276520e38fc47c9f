"""What the framework integrations share, free of any framework: which tools one end user
gets (`AgentTool`), their names in the frameworks' alphabet, and the text a model reads
back from a call (the answer, or the error it can act on).

Only the SDK is used: the integrations run wherever `authrelay_client.Client` runs."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from authrelay_client._client import AsyncClient, Client
from authrelay_client._exceptions import ApiError, UnauthenticatedError
from authrelay_client.models import ExecuteToolResponse, ScopedTool, Tool

NAME_MAX = 64  # OpenAI's function names: ^[a-zA-Z0-9_-]{1,64}$ (the strictest of the frameworks)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_DIGEST = 8


@dataclass(frozen=True)
class AgentTool:
    """One tool as an agent framework offers it: `name` is what the model sees (unique in
    the set, `^[A-Za-z0-9_-]{1,64}$`); the call runs the stored tool `tool_name` on the
    connected account `connected_account_id`."""

    name: str
    tool_name: str
    description: str
    input_schema: dict[str, Any]
    connected_account_id: str
    provider: str = ""
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserScope:
    """Whose tools: an end user (`identifier`, optionally one `connector` connection) or one
    connected account; optional filters by provider and tool name."""

    identifier: str | None = None
    connected_account_id: str | None = None
    connector: str | None = None
    providers: tuple[str, ...] = ()
    tool_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.identifier) == bool(self.connected_account_id):
            raise ValueError("pass exactly one of identifier or connected_account_id")
        if self.connector and not self.identifier:
            raise ValueError("connector narrows an identifier's accounts: pass identifier too")


def scope(
    identifier: str | None,
    connected_account_id: str | None,
    connector: str | None,
    providers: Iterable[str] | None,
    tool_names: Iterable[str] | None,
) -> UserScope:
    return UserScope(
        identifier, connected_account_id, connector, tuple(providers or ()), tuple(tool_names or ())
    )


def safe_name(name: str, taken: set[str]) -> str:
    """`name` in `[A-Za-z0-9_-]`, at most 64 characters and not in `taken`: a name that had
    to be cut or is taken gets its first 55 characters plus `_` and 8 hex digits of a
    SHA-256 of the full name (plus a counter on a repeated collision), stable across runs."""
    cleaned = _UNSAFE.sub("_", name) or "tool"
    if len(cleaned) <= NAME_MAX and cleaned not in taken:
        return cleaned
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]
    candidate = f"{cleaned[: NAME_MAX - _DIGEST - 1]}_{digest}"
    counter = 1
    while candidate in taken:
        counter += 1
        suffix = f"_{digest}{counter}"
        candidate = f"{cleaned[: NAME_MAX - len(suffix)]}{suffix}"
    return candidate


def _shared_providers(entries: list[ScopedTool]) -> set[str]:
    """Providers on which the user has more than one account in `entries`."""
    accounts: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        accounts[entry.tool.provider.lower()].add(entry.connected_account_id)
    return {provider for provider, ids in accounts.items() if len(ids) > 1}


def build(entries: list[ScopedTool], connectors: Mapping[str, str]) -> list[AgentTool]:
    """AgentTools from (account, tool) entries. When the user has two accounts of one
    provider, that provider's tools are named `{connection}__{tool}` (as the MCP server
    does), so both accounts stay reachable; `connectors` maps account ids to connection
    names for that case."""
    shared = _shared_providers(entries)
    taken: set[str] = set()
    out: list[AgentTool] = []
    for entry in entries:
        tool = entry.tool
        definition = tool.definition
        wanted = tool.name
        if tool.provider.lower() in shared:
            account = entry.connected_account_id
            wanted = f"{connectors.get(account, account)}__{wanted}"
        name = safe_name(wanted, taken)
        taken.add(name)
        schema = definition.get("input_schema")
        annotations = definition.get("annotations")
        out.append(
            AgentTool(
                name=name,
                tool_name=tool.name,
                description=str(definition.get("description") or tool.name),
                input_schema=schema if isinstance(schema, dict) else {"type": "object"},
                connected_account_id=entry.connected_account_id,
                provider=tool.provider,
                annotations=annotations if isinstance(annotations, dict) else {},
            )
        )
    return out


def _account_entries(who: UserScope, tools: list[Tool]) -> list[ScopedTool]:
    assert who.connected_account_id
    wanted = {p.lower() for p in who.providers}
    return [
        ScopedTool(connected_account_id=who.connected_account_id, tool=t)
        for t in tools
        if not wanted or t.provider.lower() in wanted
    ]


def load(client: Client, who: UserScope) -> list[AgentTool]:
    """The tools `who` can call, read through the SDK: for an identifier, one per ACTIVE
    connected account and tool of its provider (`GET /api/v1/tools/scoped`); for a
    connected account, its provider's tools."""
    if who.connected_account_id:
        listed = client.tools.list(
            names=list(who.tool_names) or None, connected_account_id=who.connected_account_id
        )
        return build(_account_entries(who, listed), {})
    assert who.identifier
    entries = client.tools.scoped(
        who.identifier,
        providers=list(who.providers) or None,
        names=list(who.tool_names) or None,
        connection_names=[who.connector] if who.connector else None,
    )
    connectors: dict[str, str] = {}
    if _shared_providers(entries):
        accounts = client.connected_accounts.list(identifier=who.identifier)
        connectors = {a.id: a.connector for a in accounts}
    return build(entries, connectors)


async def aload(client: AsyncClient, who: UserScope) -> list[AgentTool]:
    """`load` with an `AsyncClient`."""
    if who.connected_account_id:
        listed = await client.tools.list(
            names=list(who.tool_names) or None, connected_account_id=who.connected_account_id
        )
        return build(_account_entries(who, listed), {})
    assert who.identifier
    entries = await client.tools.scoped(
        who.identifier,
        providers=list(who.providers) or None,
        names=list(who.tool_names) or None,
        connection_names=[who.connector] if who.connector else None,
    )
    connectors: dict[str, str] = {}
    if _shared_providers(entries):
        accounts = await client.connected_accounts.list(identifier=who.identifier)
        connectors = {a.id: a.connector for a in accounts}
    return build(entries, connectors)


def result_text(data: Any) -> str:
    """The answer as the model reads it: compact JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def is_model_error(exc: BaseException) -> TypeGuard[ApiError]:
    """Errors the model should read and may act on (bad inputs named per field, a tool
    that no longer exists, an inactive account, the upstream's 4xx/5xx or timeout) — as
    opposed to the developer's (refused API credentials, the server unreachable), which
    are raised."""
    return isinstance(exc, ApiError) and not isinstance(exc, UnauthenticatedError)


def error_text(exc: ApiError) -> str:
    """The error as the model reads it: authrelay's error JSON (google.rpc Status: `code`,
    `message`, `details` with each bad input and the upstream's status and body)."""
    body = exc.body if exc.body else {"code": exc.code, "message": exc.message}
    return "error: " + result_text(body)


def execute(
    client: Client, tool: AgentTool, params: Mapping[str, Any], agent_run_id: str | None
) -> ExecuteToolResponse:
    """Run `tool` with `params` through `POST /api/v1/execute_tool`."""
    return client.actions.execute_tool(
        tool.tool_name,
        params,
        connected_account_id=tool.connected_account_id,
        agent_run_id=agent_run_id,
    )


async def aexecute(
    client: AsyncClient, tool: AgentTool, params: Mapping[str, Any], agent_run_id: str | None
) -> ExecuteToolResponse:
    """`execute` with an `AsyncClient`."""
    return await client.actions.execute_tool(
        tool.tool_name,
        params,
        connected_account_id=tool.connected_account_id,
        agent_run_id=agent_run_id,
    )
