"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from authrelay.api.deps import RuntimeDep
from authrelay.store import db

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        await db.ping(runtime.engine)
    except Exception:  # any database failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=HTTPStatus.SERVICE_UNAVAILABLE,
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
