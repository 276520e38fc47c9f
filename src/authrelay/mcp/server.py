"""The MCP server: Streamable HTTP endpoints built on the official `mcp` SDK's low-level
server, stateless (a fresh transport per request; everything is read from the database and
the token, so any replica answers).

- `/mcp/v3/servers/{config_id}`: the tools of an MCP config;
- `/mcp/v3/connections/{connection_name}`: the tools of one connection;
- `/mcp/v3/instances/{key}`: an MCP instance's pre-authenticated URL: its config's tools as
  its user (`mcp/instances.py`), no token;
- `/.well-known/oauth-protected-resource/mcp/v3/…`: RFC 9728 metadata for either.

Every request to a server or connection URL needs an MCP session token for exactly that
URL; without one the answer is `401` with `WWW-Authenticate: Bearer resource_metadata="…"`.
A token's `access_level` READ_ONLY (a session token's, or an OAuth-issued token without scope
`mcp:write`) lists only read-only tools; a `tools/call` of another is answered `403`
`insufficient_scope` before the SDK sees it (`_check_scope`), and `execute_tool` checks it
again."""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp_types import methods as mcp_methods
from starlette.types import Receive, Scope, Send

from authrelay import __version__
from authrelay.asgi_errors import StartWatch, answer_error, send_json
from authrelay.auth.principal import Principal
from authrelay.errors import (
    AuthrelayError,
    FailedPrecondition,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from authrelay.http_headers import bearer_token
from authrelay.mcp import accounts, configs, edge, grants, instances
from authrelay.mcp.authserver import issuer
from authrelay.mcp.catalog import Served, served_tools
from authrelay.mcp.tokens import ALL_SCOPES, READ_SCOPE, SCOPES, WRITE_SCOPE, McpGrant, verify
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store import mcp_oauth as oauth_store
from authrelay.tools.execute import ExecuteRequest, execute_tool
from authrelay.tools.model import is_read_only

if TYPE_CHECKING:
    from authrelay.runtime import Runtime

log = logging.getLogger("authrelay.mcp")
PREFIX = "/mcp/"
METADATA_PREFIX = "/.well-known/oauth-protected-resource"
_SCOPE_KEY = "authrelay.mcp"
_VERIFIED_SIZE = 4096
_ROUTES = {
    (False, "servers"): edge.SERVER_ROUTE,
    (False, "connections"): edge.CONNECTION_ROUTE,
    (True, "servers"): edge.SERVER_METADATA_ROUTE,
    (True, "connections"): edge.CONNECTION_METADATA_ROUTE,
    (False, "instances"): edge.INSTANCE_ROUTE,
    (True, "instances"): edge.INSTANCE_METADATA_ROUTE,
}


@dataclass(frozen=True)
class McpRequest:
    """What one authenticated MCP request may use."""

    runtime: Runtime
    grant: McpGrant
    mappings: list[dict[str, Any]]
    read_only: bool
    actor: str
    served_key: tuple[str, str]  # (kind, config id or connection name)


def _resource(path: str) -> tuple[str, str] | None:
    """('servers', config id), ('connections', name) or ('instances', key) of an MCP path,
    else None."""
    parts = path.rstrip("/").split("/")
    if len(parts) == 5 and parts[:3] == ["", "mcp", "v3"] and parts[4]:
        if parts[3] in ("servers", "connections", "instances"):
            return parts[3], unquote(parts[4])
    return None


def token_route(kind: str, key: str) -> str:
    """The API route that makes session tokens for the MCP URL of (kind, key)."""
    owner = "configs" if kind == "servers" else "connections"
    return f"/api/v1/mcp/{owner}/{quote(key, safe='')}/tokens"


def _bearer(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token(value.decode("latin-1")) or ""
    return ""


def _text(text: str) -> list[types.TextContent]:
    return [types.TextContent(type="text", text=text)]


def _tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=_text(text), is_error=True)


class McpApp:
    """The ASGI app behind `/mcp/…` and its metadata routes (see `app.Dispatcher`)."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None  # set by the application's lifespan
        self.server: Server[Any] = Server(
            "authrelay",
            version=__version__,
            instructions="Tools that act with the end user's connected accounts.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        # no OpenTelemetry span per message on the hot path; tools/list from a cache
        self.server.middleware = [self._cached_list]
        self.manager: StreamableHTTPSessionManager | None = None
        self.origins: edge.OriginPolicy | None = None
        self._verified: OrderedDict[tuple[str, str], McpGrant] = OrderedDict()

    def start(self, runtime: Runtime) -> AbstractAsyncContextManager[None]:
        """Bind the runtime and start the SDK's (stateless) session manager."""
        self.runtime = runtime
        self.origins = edge.OriginPolicy(runtime.settings)
        self.manager = StreamableHTTPSessionManager(
            app=self.server,
            json_response=True,
            stateless=True,
            max_request_body_size=runtime.settings.max_body_bytes,
        )
        return self.manager.run()

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(PREFIX) or path.startswith(METADATA_PREFIX + PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, manager = self.runtime, self.manager
        origin = edge.header(scope["headers"], b"origin")
        path: str = scope["path"]
        metadata = path.startswith(METADATA_PREFIX)
        resource = _resource(path[len(METADATA_PREFIX) :] if metadata else path)
        if resource is not None:
            scope["route"] = _ROUTES[metadata, resource[0]]  # the access log's template
        if origin and metadata:
            send = edge.with_cors(send, "*")  # public metadata: any origin may read it
        elif origin and self.origins is not None and self.origins.allows(origin):
            send = edge.with_cors(send, origin)
        watched = StartWatch(send)
        try:
            if runtime is None or manager is None or self.origins is None:
                raise Unavailable("the server is not running")
            if metadata:
                if scope["method"] == "OPTIONS":
                    await edge.answer_preflight(send, bool(origin))
                    return
                await self._metadata(runtime, path[len(METADATA_PREFIX) :], scope, send)
                return
            if origin and not self.origins.allows(origin):
                raise edge.OriginRefused(
                    f"origin {origin!r} may not call MCP URLs (AUTHRELAY_MCP_ALLOWED_ORIGINS)"
                )
            if resource is None:
                raise NotFound(
                    "no such MCP endpoint: use /mcp/v3/servers/{config_id}, "
                    "/mcp/v3/connections/{connection_name} or an MCP instance's URL"
                )
            if scope["method"] == "OPTIONS":
                await edge.answer_preflight(send, bool(origin))
                return
            if scope["method"] != "POST":
                raise edge.method_not_allowed(scope["method"])
            kind, key = resource
            if kind == "instances":
                req = await self._instance(runtime, key)
            else:
                req = await self._authorize(runtime, scope, kind, key)
            scope[_SCOPE_KEY] = req
            receive, call = await edge.read_request(
                receive, parse=req.grant.read_only, limit=runtime.settings.max_body_bytes
            )
            if call is not None and call.method == "tools/call":
                await self._check_scope(req, call, f"{METADATA_PREFIX}/mcp/v3/{kind}/{key}")
            await manager.handle_request(scope, receive, watched)
        except Exception as exc:
            await answer_error(
                send,
                exc,
                started=watched.started,
                log=log,
                what="MCP request failure",
                shape=None if metadata else edge.jsonrpc_error,
            )

    async def _metadata(self, runtime: Runtime, path: str, scope: Scope, send: Send) -> None:
        """RFC 9728 protected-resource metadata for an MCP URL."""
        resource = _resource(path)
        if scope["method"] != "GET" or resource is None or resource[0] == "instances":
            # An instance's URL is pre-authenticated: it has no token to ask for.
            raise NotFound("no such protected resource")
        base = runtime.settings.base_url
        servers: list[str] = []
        if resource[0] == "servers":  # a config URL names its environment's issuer
            async with runtime.sessions() as session:
                env_id = await oauth_store.config_environment(session, resource[1])
            servers = [issuer(base, env_id)] if env_id else []
        await send_json(
            send,
            HTTPStatus.OK,
            {
                "resource": base + path.rstrip("/"),
                "resource_name": "authrelay MCP server",
                "bearer_methods_supported": ["header"],
                "authorization_servers": servers,
                "scopes_supported": list(SCOPES),
                "resource_documentation": f"{base}/docs",
                "authrelay_token_endpoint": base + token_route(*resource),
            },
        )

    def _verify(self, runtime: Runtime, token: str, audience: str, route: str) -> McpGrant:
        """The grant of a token for `audience`; verified grants are kept until they expire."""
        key = (token, audience)
        grant = self._verified.get(key)
        if grant is None or grant.expires_at <= time.time():
            self._verified.pop(key, None)
            grant = verify(runtime.tokens.keys, token, audience, renew_at=route)
            self._verified[key] = grant
            if len(self._verified) > _VERIFIED_SIZE:
                self._verified.popitem(last=False)
        return grant

    async def _authorize(self, runtime: Runtime, scope: Scope, kind: str, key: str) -> McpRequest:
        base = runtime.settings.base_url
        path = f"/mcp/v3/{kind}/{key}"
        token = _bearer(scope)
        try:
            if not token:
                raise Unauthenticated(
                    "missing MCP token: send Authorization: Bearer <token> from "
                    f"POST {token_route(kind, key)}"
                )
            grant = self._verify(runtime, token, base + path, token_route(kind, key))
            if grant.config_id != key if kind == "servers" else grant.connection != key:
                raise Unauthenticated(f"the MCP token is not for {path}")
            if grant.grant_id and not await self._grant_live(runtime, grant):
                raise Unauthenticated(
                    "the MCP token's grant was revoked: sign in again (the MCP host's "
                    "authorization)"
                )
        except Unauthenticated as exc:  # RFC 6750: no error code when no token was sent
            metadata = f"{base}{METADATA_PREFIX}{path}"
            error = "invalid_token" if token else ""
            exc.headers["WWW-Authenticate"] = edge.challenge(metadata, error)
            raise
        env_id = grant.environment_id
        if kind == "servers":
            found = await self._config(runtime, env_id, key)
            if found is None:
                raise NotFound(f"no MCP config {key!r}: it was deleted")
            mappings, read_only = found
            return McpRequest(runtime, grant, mappings, read_only, f"mcp:{key}", ("servers", key))
        return McpRequest(
            runtime,
            grant,
            [{"connection_name": key, "tools": []}],
            False,
            f"mcp:{key}",
            ("connections", key),
        )

    async def _check_scope(self, req: McpRequest, call: edge.Call, metadata_path: str) -> None:
        """A READ_ONLY token's `tools/call` of a served tool that is not read-only: `403`
        with the scope challenge (MCP authorization, "Scope challenge handling"), from the
        served catalog (cached with the URL's tools). Unknown tools go on to the SDK's
        error; `execute_tool` still refuses what gets past (REST, gRPC)."""
        served = (await self._served(req))[0].get(call.name)
        if served is None or is_read_only(served.definition):
            return
        challenge = edge.challenge(
            req.runtime.settings.base_url + metadata_path,
            "insufficient_scope",
            ALL_SCOPES,
            f"tool {call.name!r} is not read-only: it needs scope {WRITE_SCOPE}",
        )
        raise edge.InsufficientScope(
            f"this MCP token is READ_ONLY (scope {READ_SCOPE}) and tool {call.name!r} is not "
            f"read-only: it needs scope {WRITE_SCOPE} (sign in again with it, or use a FULL "
            "session token)",
            call.id,
            challenge,
        )

    async def _instance(self, runtime: Runtime, key: str) -> McpRequest:
        """An instance's URL: the key is the credential. The instance is read on every
        request (its deletion closes the URL at once); its config from the cache."""
        async with runtime.sessions() as session:
            row = await instances.by_key(session, key)
            if row is not None:
                await instances.touch(session, row)
        if row is None:
            raise NotFound("no such MCP instance (it was deleted, or the URL is wrong)")
        found = await self._config(runtime, row.environment_id, row.config_id)
        if found is None:
            raise NotFound("no such MCP instance: its MCP config was deleted")
        mappings, read_only = found
        grant = McpGrant(
            environment_id=row.environment_id,
            identifier=row.user_identifier,
            audience=instances.url_of(runtime.settings.base_url, key),
            config_id=row.config_id,
            connection="",
            account_ids=(),
            expires_at=0,
        )
        served_key = ("servers", row.config_id)
        return McpRequest(runtime, grant, mappings, read_only, f"mcp:{row.id}", served_key)

    @staticmethod
    async def _grant_live(runtime: Runtime, grant: McpGrant) -> bool:
        """Whether the grant (consent) of an OAuth-issued token still stands: read once per
        grant and cache generation (a revocation moves the generation, so this process sees
        it at once and others at their next poll); no database read per request."""
        cache = runtime.tool_cache
        key = ("grant", grant.environment_id, grant.grant_id)
        entry = cache.mcp.get(key)
        if entry is not None:
            live: bool = entry[0]
            return live
        read_at = cache.mcp.clears
        async with runtime.sessions() as session:
            live = await grants.live(session, grant.environment_id, grant.grant_id)
        cache.mcp.put(key, (live,), read_at)
        return live

    @staticmethod
    async def _config(
        runtime: Runtime, env_id: str, config_id: str
    ) -> tuple[list[dict[str, Any]], bool] | None:
        """(mappings, read-only) of a config, cached until the cache generation moves."""
        cache = runtime.tool_cache
        key = ("config", env_id, config_id)
        entry = cache.mcp.get(key)  # (found,): a config found to be missing is cached too
        if entry is not None:
            found: tuple[list[dict[str, Any]], bool] | None = entry[0]
            return found
        read_at = cache.mcp.clears
        async with runtime.sessions() as session:
            row = await configs.find(session, env_id, config_id)
        found = (list(row.mappings), row.access_level == "READ_ONLY") if row else None
        cache.mcp.put(key, (found,), read_at)
        return found

    @staticmethod
    def _request(ctx: ServerRequestContext[Any]) -> McpRequest:
        request = ctx.request
        found = request.scope.get(_SCOPE_KEY) if request is not None else None
        if not isinstance(found, McpRequest):
            raise MCPError(types.INVALID_REQUEST, "unauthenticated MCP request")
        return found

    @staticmethod
    async def _served(req: McpRequest) -> tuple[dict[str, Served], list[types.Tool]]:
        """The tools the URL serves (by MCP name, and as MCP tools), cached until the cache
        generation moves (any change to tools, connections, configs)."""
        cache = req.runtime.tool_cache
        key = ("served", req.grant.environment_id, *req.served_key)
        found = cache.mcp.get(key)
        if found is None:
            read_at = cache.mcp.clears
            async with req.runtime.sessions() as session:
                served = await served_tools(
                    session, req.grant.environment_id, req.mappings, req.read_only
                )
            found = (served, [_mcp_tool(s) for s in served.values()])
            cache.mcp.put(key, found, read_at)
        return found

    async def _cached_list(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """`tools/list` answered with the wire form the SDK made of it before (validated,
        shaped for the protocol version, stamped), kept with the served tools until the
        cache generation moves: the SDK re-validating and re-dumping thousands of tools took
        most of the time of a large list. The request itself is still validated; anything
        else (a `cursor`, other methods) takes the SDK's path."""
        if ctx.method != "tools/list" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params
        if params and set(params) - {"_meta"}:
            return await call_next(ctx)
        try:
            mcp_methods.validate_client_request(ctx.method, ctx.protocol_version, params)
        except (ValueError, KeyError):  # pydantic's ValidationError is a ValueError
            return await call_next(ctx)  # the SDK answers with the right error
        req = self._request(ctx)
        cache = req.runtime.tool_cache
        key = (
            "wire",
            req.grant.environment_id,
            *req.served_key,
            req.grant.access_level,
            ctx.protocol_version,
        )
        found: HandlerResult = cache.mcp.get(key)
        if found is None:
            read_at = cache.mcp.clears
            found = await call_next(ctx)
            if isinstance(found, dict):
                cache.mcp.put(key, found, read_at)
        return found

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        req = self._request(ctx)
        served, tools = await self._served(req)
        if req.grant.read_only:  # a READ_ONLY token: the read-only tools only
            tools = [t for t in tools if is_read_only(served[t.name].definition)]
        return types.ListToolsResult(tools=tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        req = self._request(ctx)
        served = (await self._served(req))[0].get(params.name)
        if served is None:
            raise MCPError(
                types.INVALID_PARAMS, f"unknown tool {params.name!r} (tools/list lists them)"
            )
        call = ExecuteRequest(
            tool_name=served.tool_name,
            params=dict(params.arguments or {}),
            identifier=req.grant.identifier,
            connector=served.connection,
            read_only=req.grant.read_only,
            source="MCP",
        )
        try:
            result = await execute_tool(req.runtime, req.grant.environment_id, call)
        except (NotFound, FailedPrecondition) as exc:
            # no account, or one that is not ACTIVE: a fresh authorization link instead
            link = await self._inactive(req, served.connection)
            return _tool_error(link or json.dumps(exc.body()))
        except AuthrelayError as exc:
            return _tool_error(json.dumps(exc.body()))
        data = result["data"]
        return types.CallToolResult(
            content=_text(json.dumps(data)),
            structured_content=data if isinstance(data, dict) else {"result": data},
            is_error=False,
            meta={"execution_id": result["execution_id"]},
        )

    async def _inactive(self, req: McpRequest, connection_name: str) -> str:
        """'' when the user's account on the connection is ACTIVE; else the message with a
        fresh authorization link."""
        runtime, env_id, who = req.runtime, req.grant.environment_id, req.grant.identifier
        async with runtime.sessions() as session:
            connection = await connection_store.by_name(session, env_id, connection_name)
            if connection is None:
                return f"connection {connection_name!r} no longer exists"
            account = await account_store.get(
                session, env_id, account_id=None, connection_id=connection.id, identifier=who
            )
            if account is not None and account.status == "ACTIVE":
                return ""
            state = "has no connected account" if account is None else f"is {account.status}"
            try:
                link = await accounts.auth_link(
                    session,
                    Principal(env_id, req.actor),
                    runtime.services,
                    connection_name,
                    who,
                    runtime.settings.link_ttl_seconds,
                )
            except AuthrelayError as exc:  # e.g. the connection is disabled
                return f"{who!r} {state} on connection {connection_name!r}: {exc.message}"
        return (
            f"{who!r} {state} on connection {connection_name!r}; ask the user to authorize "
            f"it at this link, then call the tool again: {link}"
        )


def _mcp_tool(served: Served) -> types.Tool:
    definition = served.definition
    notes = definition.get("annotations") or {}
    schema = definition.get("input_schema") or {"type": "object"}
    return types.Tool(
        name=served.name,
        description=str(definition.get("description", "")),
        input_schema=schema,
        annotations=types.ToolAnnotations(
            title=notes.get("title"),
            read_only_hint=notes.get("read_only_hint"),
            destructive_hint=notes.get("destructive_hint"),
            idempotent_hint=notes.get("idempotent_hint"),
            open_world_hint=notes.get("open_world_hint"),
        ),
    )
