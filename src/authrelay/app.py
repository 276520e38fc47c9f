"""`create_app(settings)`: the ASGI application. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from authrelay import __version__
from authrelay.api import (
    accounts,
    audit,
    call_logs,
    connections,
    errors,
    health,
    providers,
    token,
    tools,
)
from authrelay.api import mcp as mcp_routes
from authrelay.api import mcp_oauth as mcp_oauth_routes
from authrelay.api.nul import refuse_nul_parameters
from authrelay.config import Settings
from authrelay.dashboard.mount import install as install_dashboard
from authrelay.grpc.gateway import GrpcGateway
from authrelay.mcp.server import McpApp
from authrelay.observability import AccessLogMiddleware, Metrics, configure_logging
from authrelay.openapi.build import install as install_openapi
from authrelay.proxy.app import PREFIX, ProxyApp
from authrelay.proxy.cache import run_periodically
from authrelay.runtime import create_runtime
from authrelay.tools.asgi import PATH as TOOL_PATH
from authrelay.tools.asgi import ExecuteToolApp
from authrelay.web import consent as web_consent
from authrelay.web import docs as web_docs
from authrelay.web import routes as web_routes


class Dispatcher:
    """Sends `/proxy/...` straight to the proxy (the hot path skips FastAPI's routing and
    middleware; it logs and counts itself), `POST /api/v1/execute_tool` straight to the
    tools' ASGI app (same reason; it logs each call), `/mcp/…` (and its RFC 9728 metadata)
    to the MCP server (behind the API's access log and metrics), gRPC calls (HTTP/2 with
    `content-type: application/grpc*`) to the gRPC gateway and everything else to the API.
    The gateway calls this Dispatcher back with HTTP/1.1 scopes for the REST operation a gRPC
    method maps to; an HTTP/1.1 request pays one dict lookup for gRPC."""

    def __init__(
        self, api: FastAPI, proxy: ProxyApp, tools: ExecuteToolApp, mcp: ASGIApp, grpc: GrpcGateway
    ) -> None:
        self.api = api
        self.proxy = proxy
        self.tools = tools
        self.mcp = mcp
        self.grpc = grpc
        grpc.rest = self
        grpc.routes = api.router.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("http_version") == "2" and _is_grpc(scope):
            await self.grpc(scope, receive, send)
        elif scope["type"] == "http" and (
            scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/")
        ):
            await self.proxy(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == TOOL_PATH and scope["method"] == "POST":
            await self.tools(scope, receive, send)
        elif scope["type"] == "http" and McpApp.handles(scope["path"]):
            await self.mcp(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _is_grpc(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.startswith(b"application/grpc"))
    return False


class _FullCollections:
    """Python's automatic full collections replaced by one every `seconds` (0: Python's own
    schedule is kept). A full collection walks every object the collector tracks, and the
    proxy's caches hold tens of thousands: run by Python's rule (whenever a quarter more
    objects than at the last one have survived), it came every few seconds while the route
    cache filled or turned over, and each held the event loop long enough to set the p99.
    Cyclic garbage is still found by the young generations' collections; what survives into
    the oldest waits at most `seconds`."""

    active = 0  # applications running with a timer in this process (tests run several)
    saved: tuple[int, int, int] | None = None  # Python's thresholds before the first

    def __init__(self, seconds: float) -> None:
        self.task: asyncio.Task[None] | None = None
        if seconds:
            cls = type(self)
            if cls.active == 0:
                cls.saved = gc.get_threshold()
            cls.active += 1
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, _NEVER)
            self.task = asyncio.create_task(
                run_periodically(seconds, _full_collection, "gc-full-collection")
            )

    def cancel(self) -> None:
        if self.task is None:
            return
        self.task.cancel()
        self.task = None
        cls = type(self)
        cls.active -= 1
        if cls.active == 0 and cls.saved is not None:
            gc.set_threshold(*cls.saved)


_NEVER = 2**31 - 1  # collections of the middle generation before a full one


async def _full_collection() -> None:
    gc.collect()


def create_app(settings: Settings) -> ASGIApp:
    metrics = Metrics()
    proxy = ProxyApp()
    tools_app = ExecuteToolApp()
    mcp_app = McpApp()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await create_runtime(settings, metrics)
        app.state.runtime = runtime
        proxy.runtime = runtime
        tools_app.runtime = runtime
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # garbage collector's scans, which otherwise stall requests (p99) for milliseconds.
        gc.collect()
        gc.freeze()
        full_collections = _FullCollections(settings.gc_full_collection_seconds)
        try:
            async with mcp_app.start(runtime):
                yield
        finally:
            full_collections.cancel()
            mcp_app.runtime = None
            proxy.runtime = None
            tools_app.runtime = None
            await runtime.close()

    app = FastAPI(
        title="authrelay",
        version=__version__,
        description="Agent auth server; wire-compatible with Scalekit's AgentKit API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_nul_parameters)],
    )
    errors.install(app)
    for router in (
        health.router,
        token.router,
        providers.router,
        connections.router,
        accounts.router,
        audit.router,
        call_logs.router,
        tools.router,
        mcp_routes.router,
        mcp_oauth_routes.router,
        web_routes.router,
        web_consent.router,
        web_docs.router,
    ):
        app.include_router(router)
    install_openapi(app)
    install_dashboard(app)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    return Dispatcher(
        app,
        proxy,
        tools_app,
        AccessLogMiddleware(mcp_app, metrics=metrics),
        GrpcGateway(settings.grpc_max_message_bytes),
    )


def app_from_environment() -> ASGIApp:
    """Factory for `uvicorn --factory authrelay.app:app_from_environment` (settings from env);
    each worker process calls it, so each sets up its own structured logging."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
