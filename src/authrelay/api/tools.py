"""Tool routes (SPEC §9), wire-compatible with Scalekit's ToolService, plus authrelay's
management routes (create, replace, delete, sync)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from authrelay.api.deps import (
    CachedPrincipal,
    CurrentPrincipal,
    DbSession,
    RuntimeDep,
    bearer_token,
    request_host,
)
from authrelay.proxy.resolve import cached_environment
from authrelay.request_body import read_json
from authrelay.tools import listing, methods, service
from authrelay.tools.execute import execute_tool as run_tool
from authrelay.tools.execute import parse_execute
from authrelay_client.wire import (
    EmptyBody,
    ExecuteToolResponse,
    RefreshToolsResponse,
    SearchToolsFullResponse,
    SearchToolsResponse,
    SyncToolsResponse,
    ToolResponse,
)

router = APIRouter(prefix="/api/v1", tags=["tools"])


def _json(body: bytes) -> Response:
    """Lists are large: answered with the JSON the index pre-encoded, without FastAPI's
    response encoding pass."""
    return Response(body, media_type="application/json")


@router.get("/tools")
async def list_tools(
    principal: CachedPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    provider: list[str] = Query([], alias="filter.provider"),
    tool_name: list[str] = Query([], alias="filter.tool_name"),
    query: str | None = Query(None, alias="filter.query"),
    summary: str | None = Query(None, alias="filter.summary"),
    identifier: str | None = Query(None, alias="filter.identifier"),
    connector: str | None = Query(None, alias="filter.connector"),
    connected_account_id: str | None = Query(None, alias="filter.connected_account_id"),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    view: str | None = Query(None),
) -> Response:
    page = await listing.list_tools(
        session,
        principal,
        runtime.tool_index,
        providers=provider,
        tool_names=tool_name,
        query=query,
        summary=summary,
        identifier=identifier,
        connector=connector,
        connected_account_id=connected_account_id,
        page_size=page_size,
        page_token=page_token,
        view=view,
    )
    return _json(page.body())


@router.get("/tools/scoped")
async def scoped_tools(
    principal: CachedPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    identifier: str | None = Query(None),
    providers: list[str] = Query([], alias="filter.providers"),
    tool_names: list[str] = Query([], alias="filter.tool_names"),
    connection_names: list[str] = Query([], alias="filter.connection_names"),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> Response:
    return _json(
        await listing.scoped_tools(
            session,
            principal,
            runtime.tool_index,
            identifier=identifier,
            providers=providers,
            tool_names=tool_names,
            connection_names=connection_names,
            page_size=page_size,
            page_token=page_token,
        )
    )


@router.get("/tools/available")
async def available_tools(
    principal: CachedPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    identifier: str | None = Query(None),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> Response:
    return _json(
        await listing.available_tools(
            session,
            principal,
            runtime.tool_index,
            identifier=identifier,
            page_size=page_size,
            page_token=page_token,
        )
    )


@router.post("/tools:search", response_model=None)
async def search_tools(
    request: Request, principal: CachedPrincipal, runtime: RuntimeDep, session: DbSession
) -> SearchToolsResponse | SearchToolsFullResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await listing.search_tools(session, principal, runtime.tool_index, raw)


@router.post("/tools:sync", response_model=None)
async def sync_tools(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> SyncToolsResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes * 16)
    return await service.sync_tools(session, principal, runtime.services, raw)


@router.post("/tools:set_default", response_model=None)
async def set_tool_default(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ToolResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return {"tool": await methods.set_tool_default(session, principal, raw)}


@router.post("/tools:refresh", response_model=None)
async def refresh_tools(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> RefreshToolsResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await methods.refresh_tools(session, principal, raw)


@router.put("/tools", response_model=None)
async def update_tool(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ToolResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return {"tool": await methods.update_tool(session, principal, runtime.services, raw)}


@router.post("/tools", status_code=HTTPStatus.CREATED)
async def create_tool(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.create_tool(session, principal, runtime.services, raw)
    return JSONResponse({"tool": body}, status_code=HTTPStatus.CREATED)


@router.get("/tools/{key}", response_model=None)
async def get_tool(key: str, principal: CurrentPrincipal, session: DbSession) -> ToolResponse:
    return {"tool": await service.get_tool(session, principal, key)}


@router.put("/tools/{key}", response_model=None)
async def replace_tool(
    key: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> ToolResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return {"tool": await service.replace_tool(session, principal, runtime.services, key, raw)}


@router.delete("/tools/{key}", response_model=None)
async def delete_tool(
    key: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> EmptyBody:
    await service.delete_tool(session, principal, runtime.services, key)
    return {}


@router.post("/execute_tool", response_model=None)
async def execute_tool(request: Request, runtime: RuntimeDep) -> ExecuteToolResponse:
    # The token is checked as /proxy checks it (cached), not with the per-request database
    # look-ups of CurrentPrincipal: a tool call is on the agent's hot path.
    env_id = await cached_environment(runtime, bearer_token(request), request_host(request))
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await run_tool(runtime, env_id, parse_execute(raw))
