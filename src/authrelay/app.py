"""`create_app(settings)`: the ASGI application. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from authrelay import __version__
from authrelay.api import audit, errors, health, providers, token
from authrelay.config import Settings
from authrelay.observability import AccessLogMiddleware, Metrics
from authrelay.runtime import create_runtime


def create_app(settings: Settings) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await create_runtime(settings, metrics)
        app.state.runtime = runtime
        try:
            yield
        finally:
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
    for router in (health.router, token.router, providers.router, audit.router):
        app.include_router(router)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory authrelay.app:app_from_environment` (settings from env)."""
    return create_app(Settings())
