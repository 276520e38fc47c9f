"""MCP config and instance routes (SPEC §9), wire-compatible with Scalekit's McpService, plus
authrelay's token route for one connection's MCP URL. The MCP endpoints themselves are
`authrelay.mcp`."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.mcp import accounts, configs, instances, sessions
from authrelay.request_body import parse_json, read_body, read_json
from authrelay_client.wire import (
    EmptyBody,
    ListMcpConfigsResponse,
    ListMcpInstancesResponse,
    McpConfigResponse,
    McpConnectedAccountsResponse,
    McpInstanceAuthStateResponse,
    McpInstanceResponse,
    McpTokenResponse,
)

router = APIRouter(prefix="/api/v1/mcp", tags=["mcp"])


@router.get("/configs", response_model=None)
async def list_configs(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    config_id: str | None = Query(None, alias="filter.id"),
    name: str | None = Query(None, alias="filter.name"),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> ListMcpConfigsResponse:
    return await configs.list_configs(
        session,
        principal,
        runtime.services,
        config_id=config_id,
        name=name,
        page_size=page_size,
        page_token=page_token,
    )


@router.post("/configs", status_code=HTTPStatus.CREATED)
async def create_config(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await configs.create(session, principal, runtime.services, raw)
    return JSONResponse({"config": body}, status_code=HTTPStatus.CREATED)


@router.get("/configs/{config_id}", response_model=None)
async def get_config(
    config_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> McpConfigResponse:
    return {"config": await configs.get(session, principal, runtime.services, config_id)}


@router.put("/configs/{config_id}", response_model=None)
async def replace_config(
    config_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> McpConfigResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await configs.replace(session, principal, runtime.services, config_id, raw)
    return {"config": body}


@router.delete("/configs/{config_id}", response_model=None)
async def delete_config(
    config_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> EmptyBody:
    await configs.delete(session, principal, runtime.services, config_id)
    return {}


@router.post("/configs/{config_id}/connected_accounts", response_model=None)
async def config_accounts(
    config_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> McpConnectedAccountsResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await accounts.connected_accounts(
        session, principal, runtime.services, config_id, raw, runtime.settings.link_ttl_seconds
    )


@router.post("/configs/{config_id}/tokens", response_model=None)
async def config_token(
    config_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> McpTokenResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await sessions.config_token(
        session, principal, runtime.services, runtime.tokens.keys, config_id, raw
    )


@router.post("/connections/{connection_name}/tokens", response_model=None)
async def connection_token(
    connection_name: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> McpTokenResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await sessions.connection_token(
        session, principal, runtime.services, runtime.tokens.keys, connection_name, raw
    )


@router.post("/instances", response_model=None)
async def ensure_instance(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> McpInstanceResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return {"instance": await instances.ensure(session, principal, runtime.services, raw)}


@router.get("/instances", response_model=None)
async def list_instances(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    instance_id: str | None = Query(None, alias="filter.id"),
    name: str | None = Query(None, alias="filter.name"),
    config_name: str | None = Query(None, alias="filter.config_name"),
    user_identifier: str | None = Query(None, alias="filter.user_identifier"),
    search: str | None = Query(None),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> ListMcpInstancesResponse:
    return await instances.list_instances(
        session,
        principal,
        runtime.services,
        instance_id=instance_id,
        name=name,
        config_name=config_name,
        user_identifier=user_identifier,
        search=search,
        page_size=page_size,
        page_token=page_token,
    )


@router.get("/instances/{instance_id}", response_model=None)
async def get_instance(
    instance_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> McpInstanceResponse:
    return {"instance": await instances.get(session, principal, runtime.services, instance_id)}


@router.patch("/instances/{instance_id}", response_model=None)
async def update_instance(
    instance_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> McpInstanceResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await instances.update(session, principal, runtime.services, instance_id, raw)
    return {"instance": body}


@router.delete("/instances/{instance_id}", response_model=None)
async def delete_instance(
    instance_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> EmptyBody:
    await instances.delete(session, principal, runtime.services, instance_id)
    return {}


@router.post("/instances/{instance_id}:get_auth_state", response_model=None)
async def instance_auth_state(
    instance_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    include_auth_links: str | None = Query(None),
) -> McpInstanceAuthStateResponse:
    # google.api.http sends this method's fields in the query (no body); a JSON body works too
    body = await read_body(request, runtime.settings.max_body_bytes)
    raw = parse_json(body) if body.strip() else None
    include = accounts.parse_auth_state_request(include_auth_links, raw)
    return await accounts.instance_auth_state(
        session,
        principal,
        runtime.services,
        instance_id,
        include,
        runtime.settings.link_ttl_seconds,
    )
