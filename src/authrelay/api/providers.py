"""Provider routes (SPEC §4), wire-compatible with Scalekit's ProviderService."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import JSONResponse

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.providers import methods, service
from authrelay.request_body import read_json
from authrelay_client.wire import EmptyBody, ListProvidersResponse, ProviderBody

router = APIRouter(prefix="/api/v1", tags=["providers"])


def _with_etag(body: ProviderBody, status: int = HTTPStatus.OK) -> JSONResponse:
    return JSONResponse(
        {"provider": body}, status_code=status, headers={"ETag": f'"{body["etag"]}"'}
    )


@router.get("/providers", response_model=None)
async def list_providers(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    provider_type: str | None = Query(None, alias="filter.provider_type"),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    identifier: str | None = Query(None),
) -> ListProvidersResponse:
    return await service.list_providers(
        session,
        principal,
        runtime.services,
        provider_type=provider_type,
        page_size=page_size,
        page_token=page_token,
        identifier=identifier,
    )


@router.get("/my-providers", response_model=None)
async def list_my_providers(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> ListProvidersResponse:
    return await methods.list_my_providers(
        session, principal, runtime.services, page_size=page_size, page_token=page_token
    )


@router.post("/providers")
async def create_provider(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await methods.create_provider(session, principal, runtime.services, raw)
    return _with_etag(body, HTTPStatus.CREATED)


@router.put("/providers/{identifier}")
async def update_provider(
    identifier: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    if_match: str | None = Header(None),
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await methods.update_provider(
        session, principal, runtime.services, identifier, raw, if_match
    )
    return _with_etag(body)


@router.delete("/providers/{identifier}", response_model=None)
async def delete_provider(
    identifier: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    if_match: str | None = Header(None),
) -> EmptyBody:
    await service.delete_provider(session, principal, runtime.services, identifier, if_match)
    return {}


@router.get("/providers/{identifier}")
async def get_provider(
    identifier: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    return _with_etag(await service.get_provider(session, principal, runtime.services, identifier))


@router.post("/custom-providers")
async def create_custom_provider(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.create_provider(session, principal, runtime.services, raw)
    return _with_etag(body, HTTPStatus.CREATED)


@router.put("/custom-providers/{identifier}")
async def update_custom_provider(
    identifier: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    if_match: str | None = Header(None),
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.update_provider(
        session, principal, runtime.services, identifier, raw, if_match, keep_absent=True
    )
    return _with_etag(body)


@router.delete("/custom-providers/{identifier}", response_model=None)
async def delete_custom_provider(
    identifier: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    if_match: str | None = Header(None),
) -> EmptyBody:
    await service.delete_provider(session, principal, runtime.services, identifier, if_match)
    return {}
