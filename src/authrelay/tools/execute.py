"""`execute_tool`: one tool call for one end user. The inputs are checked against the
tool's input schema before anything goes upstream; the call then runs through the proxy
core (`proxy.call`), and its answer becomes `{data, execution_id}`. The MCP server calls
this same function."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from authrelay.errors import (
    AuthrelayError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from authrelay.observability import log_line
from authrelay.proxy.call import call_upstream
from authrelay.proxy.guard import PathRejected, check_filled_path, client_owned
from authrelay.proxy.parts import ProxyParts
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store import tools as store
from authrelay.store.db import new_id
from authrelay.tools.binding import Request, build_request, fill_path, path_segment
from authrelay.tools.cache import CachedTool, ToolCache
from authrelay.tools.call_log import CallLog, CallRecord
from authrelay.tools.model import PLACEHOLDER, Binding, is_read_only
from authrelay.tools.upstream import UpstreamError, result_of
from authrelay_client.codes import Code
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.wire import ExecuteToolResponse, JSONObject

log = logging.getLogger("authrelay.tools")


class ToolParts(ProxyParts, Protocol):
    """What a tool call uses of the running server: the proxy's parts and the tool cache."""

    @property
    def tool_cache(self) -> ToolCache: ...

    @property
    def call_log(self) -> CallLog: ...


_FIELDS = {
    "tool_name",
    "params",
    "tool_input",
    "connected_account_id",
    "identifier",
    "connector",
    "agent_run_id",
    "organization_id",
    "user_id",
}


@dataclass(frozen=True)
class ExecuteRequest:
    tool_name: str
    params: JSONObject
    connected_account_id: str = ""
    identifier: str = ""
    connector: str = ""
    agent_run_id: str = ""
    #: a READ_ONLY MCP session token's call: only read-only tools run
    read_only: bool = False
    user_id: str = ""  # as the caller sent them: kept in the tool-call log
    organization_id: str = ""
    source: str = "REST"  # the tool-call log's source: REST, MCP or GRPC


def read_only_refusal(tool_name: str) -> PermissionDenied:
    """A READ_ONLY token asking for a tool that is not read-only."""
    return PermissionDenied(
        f"tool {tool_name!r} is not read-only and this MCP session token's access_level is "
        "READ_ONLY",
        [FieldViolation("tool_name", f"{tool_name!r} is not read-only")],
    )


def parse_execute(raw: Any, source: str = "REST") -> ExecuteRequest:
    """The body of `POST /api/v1/execute_tool`, every bad field named; `source` is where the
    call came from (the tool-call log's REST or GRPC)."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    violations = [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - _FIELDS)]
    strings: dict[str, str] = {}
    for key in _FIELDS - {"params", "tool_input"}:
        value = raw.get(key, "")
        if not isinstance(value, str):
            violations.append(FieldViolation(key, "must be a string"))
        else:
            strings[key] = value.strip() if key != "identifier" else value
    if not strings.get("tool_name"):
        violations.append(FieldViolation("tool_name", "is required"))
    if "params" in raw and "tool_input" in raw:
        violations.append(FieldViolation("tool_input", "send params or tool_input, not both"))
    key = "tool_input" if "tool_input" in raw else "params"
    params = raw.get(key, {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        violations.append(FieldViolation(key, "must be a JSON object (the tool's inputs)"))
    if not strings.get("connected_account_id") and not strings.get("identifier"):
        violations.append(
            FieldViolation("identifier", "is required (or send connected_account_id)")
        )
    if violations:
        raise InvalidArgument.from_violations(violations)
    return ExecuteRequest(
        tool_name=strings["tool_name"],
        params=params,
        connected_account_id=strings.get("connected_account_id", ""),
        identifier=strings.get("identifier", ""),
        connector=strings.get("connector", ""),
        agent_run_id=strings.get("agent_run_id", ""),
        user_id=strings.get("user_id", ""),
        organization_id=strings.get("organization_id", ""),
        source=source,
    )


async def _tool(runtime: ToolParts, env_id: str, name: str) -> CachedTool:
    cache = runtime.tool_cache
    found = cache.tools.get((env_id, name))
    if found is not None:
        return found
    read_at = cache.tools.clears
    async with runtime.sessions() as session:
        row = await store.by_name(session, env_id, name)
    if row is None:
        raise NotFound(
            f"no tool named {name!r} in this environment (GET /api/v1/tools lists them)",
            [FieldViolation("tool_name", "no such tool")],
        )
    tool = CachedTool(
        id=row.id,
        name=row.name,
        provider=row.provider_identifier,
        binding=Binding.model_validate(row.binding),
        validator=Draft202012Validator(row.definition.get("input_schema", {})),
        read_only=is_read_only(row.definition),
    )
    cache.tools.put((env_id, name), tool, read_at)
    return tool


def check_inputs(tool: CachedTool, params: JSONObject) -> None:
    """Raise InvalidArgument naming each input that does not fit the input schema."""
    violations: list[FieldViolation] = []
    for error in sorted(tool.validator.iter_errors(params), key=lambda e: list(e.path)):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [r for r in error.validator_value if r not in error.instance]
            violations += [FieldViolation(f"params{where}.{m}", "is required") for m in missing]
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            violations.append(FieldViolation(f"params{where}", error.message[:300]))
        else:
            violations.append(FieldViolation(f"params{where}", error.message[:300]))
    if violations:
        raise InvalidArgument(
            f"the inputs do not fit the input schema of {tool.name!r}", violations
        )


def check_request(binding: Binding, params: JSONObject, request: Request) -> None:
    """Refuse what `/proxy` refuses (proxy.guard, one implementation), before anything goes
    upstream: a filled path that could leave proxy_url, and a header the HTTP client sets
    itself (Host, the body's framing, hop-by-hop). Each violation names its input, or the
    binding's field when the tool's own path or fixed headers are to blame."""
    violations = [
        FieldViolation(f"binding.headers.{name}", _OWNED)
        for name in binding.headers or {}
        if client_owned(name)
    ]
    for name, value in params.items():
        where, wire = binding.location_of(name)
        if value is not None and where == "header" and client_owned(wire):
            violations.append(FieldViolation(f"params.{name}", f"is sent as {wire!r}: {_OWNED}"))
    reason = _refusal(request.path)
    if reason:
        violations += _path_culprits(binding, params, reason)
    if violations:
        raise InvalidArgument(
            "the inputs make a request that /proxy refuses: a path that could leave the "
            "provider's proxy_url, or a header authrelay sets itself",
            violations,
        )


_OWNED = "is a header authrelay's HTTP client sets itself (Host, framing, hop-by-hop)"


def _refusal(path: str) -> str:
    """Why check_filled_path refuses `path`, or "" when it does not."""
    try:
        check_filled_path(path.lstrip("/"))
    except PathRejected as exc:
        return str(exc)
    return ""


def _path_culprits(binding: Binding, params: JSONObject, reason: str) -> list[FieldViolation]:
    """Who is to blame for the refused path (`reason`): the binding's path when it is refused
    filled with plain segments; else each input whose value alone makes it refused (the
    others plain); else the path inputs together. Runs only on a refusal."""
    plain = {wire: "x" for wire in PLACEHOLDER.findall(binding.path)}
    own = _refusal(fill_path(binding.path, plain))
    if own:
        return [FieldViolation("binding.path", own)]
    found: list[FieldViolation] = []
    for name, value in params.items():
        where, wire = binding.location_of(name)
        if value is not None and where == "path":
            alone = _refusal(fill_path(binding.path, {**plain, wire: path_segment(value)}))
            if alone:
                found.append(FieldViolation(f"params.{name}", alone))
    return found or [FieldViolation("params", reason)]


async def _target(
    runtime: ToolParts, env_id: str, tool: CachedTool, req: ExecuteRequest
) -> tuple[str, str]:
    """(connection name, end-user identifier) the call runs with."""
    key = (env_id, tool.provider, req.connected_account_id, req.identifier, req.connector)
    cache = runtime.tool_cache
    found = cache.accounts.get(key)
    if found is not None:
        assert isinstance(found, tuple)
        return found
    read_at = cache.accounts.clears
    async with runtime.sessions() as session:
        target = await _resolve_target(session, env_id, tool, req)
    cache.accounts.put(key, target, read_at)
    return target


def _wrong_provider(
    field: str, connection: str, provider: str, tool: CachedTool
) -> InvalidArgument:
    return InvalidArgument.field(
        field,
        f"connection {connection!r} is of provider {provider!r}, but tool {tool.name!r} "
        f"belongs to {tool.provider!r}",
    )


async def _resolve_target(
    session: Any, env_id: str, tool: CachedTool, req: ExecuteRequest
) -> tuple[str, str]:
    if req.connected_account_id:
        account = await account_store.by_id(session, req.connected_account_id)
        if account is None or account.environment_id != env_id:
            raise NotFound(
                f"no connected account {req.connected_account_id!r} in this environment",
                [FieldViolation("connected_account_id", "no such connected account")],
            )
        connection = await connection_store.get(session, env_id, account.connection_id)
        if connection is None:
            raise NotFound("the connected account's connection no longer exists")
        if connection.provider_identifier != tool.provider:
            raise _wrong_provider(
                "connected_account_id", connection.name, connection.provider_identifier, tool
            )
        return connection.name, account.identifier
    if req.connector:
        connection = await connection_store.by_name(session, env_id, req.connector)
        if connection is not None:
            if connection.provider_identifier != tool.provider:
                raise _wrong_provider(
                    "connector", connection.name, connection.provider_identifier, tool
                )
            return connection.name, req.identifier
        if derive_identifier(req.connector) != tool.provider:
            raise NotFound(
                f"no connection named {req.connector!r} in this environment",
                [FieldViolation("connector", "no such connection")],
            )
    pairs = [
        (a, c)
        for a, c in await store.accounts_of(session, env_id, req.identifier)
        if c.provider_identifier == tool.provider
    ]
    if not pairs:
        raise NotFound(
            f"{req.identifier!r} has no connected account on a connection of provider "
            f"{tool.provider!r}; create one or send the user an authorization link "
            "(POST /api/v1/connected_accounts/magic_link)"
        )
    active = [p for p in pairs if p[0].status == "ACTIVE"]
    chosen = pairs if len(pairs) == 1 else active
    if len(chosen) != 1:
        names = ", ".join(sorted(c.name for _, c in pairs))
        raise InvalidArgument.field(
            "connector",
            f"{req.identifier!r} has accounts on several connections of {tool.provider!r} "
            f"({names}); name one in connector",
        )
    return chosen[0][1].name, req.identifier


#: failures of the upstream itself (after the call went out): the provider's, not authrelay's
_PROVIDER_CODES = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED})


async def execute_tool(runtime: ToolParts, env_id: str, req: ExecuteRequest) -> ExecuteToolResponse:
    """Run one tool call: `{"data": …, "execution_id": "exe_…"}`. Raises AuthrelayError
    subclasses (the upstream's errors as `UpstreamError`). Every call, answered or not,
    is queued for the tool-call log (`tools.call_log`)."""
    start = time.perf_counter()
    execution_id = new_id("exe")
    info: dict[str, Any] = {
        "execution_id": execution_id,
        "agent_run_id": req.agent_run_id,
        "tool": req.tool_name,
        "connection": "",
        "identifier": req.identifier,
        "status": 0,
    }
    record = CallRecord(
        env_id,
        execution_id,
        req.tool_name,
        req.source,
        time.time(),
        0,
        status="ERROR",
        connected_account_id=req.connected_account_id,
        identifier=req.identifier,
        agent_run_id=req.agent_run_id,
        user_id=req.user_id,
        organization_id=req.organization_id,
        error_tier="PLATFORM",
        error_code=Code.CANCELLED.name,  # until the call ends one way or the other
    )
    try:
        tool = await _tool(runtime, env_id, req.tool_name)
        record.provider = tool.provider
        if req.read_only and not tool.read_only:
            raise read_only_refusal(req.tool_name)
        check_inputs(tool, req.params)
        request = build_request(tool.binding, req.params)
        check_request(tool.binding, req.params, request)
        connection, identifier = await _target(runtime, env_id, tool, req)
        info["connection"], info["identifier"] = connection, identifier
        record.connection_name, record.identifier = connection, identifier
        info["method"], info["path"] = request.method, request.path
        answer, account = await call_upstream(
            runtime,
            env_id,
            connection,
            identifier,
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            max_bytes=tool.binding.response.max_bytes,
        )
        info["status"] = record.upstream_status = answer.status
        record.connected_account_id = account
        data = result_of(answer, tool.binding.response.select)
        record.status, record.error_tier, record.error_code = "SUCCESS", "", ""
    except AuthrelayError as exc:
        info["error"] = exc.http_status
        upstream = isinstance(exc, UpstreamError) or (
            "method" in info and exc.code in _PROVIDER_CODES
        )
        record.error_tier = "PROVIDER" if upstream else "PLATFORM"
        record.error_code = exc.code.name
        record.error_message = exc.message
        raise
    except Exception:
        record.error_code = Code.INTERNAL.name
        raise
    finally:
        elapsed = time.perf_counter() - start
        info["duration_ms"] = round(elapsed * 1000, 2)
        log_line(log, "tool call", info)
        record.duration_ms = int(elapsed * 1000)
        runtime.call_log.record(record)
    return {"data": data, "execution_id": execution_id}
