"""`create_app(settings)`: the ASGI application. Nothing is built at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from authrelay import __version__
from authrelay.api import accounts, audit, connections, errors, health, providers, token
from authrelay.config import Settings
from authrelay.dashboard.mount import install as install_dashboard
from authrelay.observability import AccessLogMiddleware, Metrics, configure_logging
from authrelay.proxy.app import PREFIX, ProxyApp
from authrelay.runtime import create_runtime
from authrelay.web import routes as web_routes


class Dispatcher:
    """Sends `/proxy/...` straight to the proxy (the hot path skips FastAPI's routing and
    middleware; it logs and counts itself) and everything else to the API."""

    def __init__(self, api: FastAPI, proxy: ProxyApp) -> None:
        self.api = api
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/")
        ):
            await self.proxy(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: Settings) -> ASGIApp:
    metrics = Metrics()
    proxy = ProxyApp()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await create_runtime(settings, metrics)
        app.state.runtime = runtime
        proxy.runtime = runtime
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # garbage collector's scans, which otherwise stall requests (p99) for milliseconds.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            proxy.runtime = None
            await runtime.close()

    app = FastAPI(
        title="authrelay",
        version=__version__,
        description="Agent auth server; wire-compatible with Scalekit's AgentKit API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    for router in (
        health.router,
        token.router,
        providers.router,
        connections.router,
        accounts.router,
        audit.router,
        web_routes.router,
    ):
        app.include_router(router)
    install_dashboard(app)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    return Dispatcher(app, proxy)


def app_from_environment() -> ASGIApp:
    """Factory for `uvicorn --factory authrelay.app:app_from_environment` (settings from env);
    each worker process calls it, so each sets up its own structured logging."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
