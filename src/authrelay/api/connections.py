"""Connection routes: Scalekit's environment app connections (SPEC §5)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.connections import service
from authrelay.request_body import read_json
from authrelay_client.wire import (
    ConnectionResponse,
    EmptyBody,
    ListConnectionsResponse,
    ListEnvironmentConnectionsResponse,
    ToggleConnectionResponse,
)

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])


@router.post("")
async def create_connection(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    is_app: str | None = Query(None, alias="flags.is_app"),
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.create_connection(session, principal, runtime.services, raw)
    return JSONResponse({"connection": body}, status_code=HTTPStatus.CREATED)


@router.get("", response_model=None)
async def list_connections(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    organization_id: str | None = Query(None),
    domain: str | None = Query(None),
    include: str | None = Query(None),
) -> ListEnvironmentConnectionsResponse:
    return await service.list_environment_connections(
        session,
        principal,
        runtime.services,
        organization_id=organization_id,
        domain=domain,
        include=include,
    )


@router.get("/app", response_model=None)
async def list_app_connections(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    provider: str | None = Query(None),
    query: str | None = Query(None),
) -> ListConnectionsResponse:
    return await service.list_connections(
        session,
        principal,
        runtime.services,
        page_size=page_size,
        page_token=page_token,
        provider=provider,
        query=query,
    )


# The ":enable"/":disable" routes come before "/{connection_id}", which would match them.
@router.patch("/{connection_id}:enable", response_model=None)
async def enable_connection(
    connection_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ToggleConnectionResponse:
    return await service.set_enabled(session, principal, runtime.services, connection_id, True)


@router.patch("/{connection_id}:disable", response_model=None)
async def disable_connection(
    connection_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ToggleConnectionResponse:
    return await service.set_enabled(session, principal, runtime.services, connection_id, False)


@router.get("/{connection_id}", response_model=None)
async def get_connection(
    connection_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ConnectionResponse:
    return {
        "connection": await service.get_connection(
            session, principal, runtime.services, connection_id
        )
    }


@router.patch("/{connection_id}", response_model=None)
async def update_connection(
    connection_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> ConnectionResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.update_connection(session, principal, runtime.services, connection_id, raw)
    return {"connection": body}


@router.delete("/{connection_id}", response_model=None)
async def delete_connection(
    connection_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    force: bool = Query(False),
) -> EmptyBody:
    await service.delete_connection(session, principal, runtime.services, connection_id, force)
    return {}
