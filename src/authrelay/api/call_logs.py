"""`/api/v1/agentkit/tool_call_logs…` and `/api/v1/agentkit/analytics/overview…`: the
tool-call log in Scalekit's shapes (`scalekit.v1.agentkit_logs`), for the caller's
environment. The `:this` variants ("the current caller's") answer the same: an API token
belongs to one environment, and authrelay has no narrower principal to scope them to."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Query

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.tools import call_logs
from authrelay_client.wire import ListToolCallLogsResponse, OverviewStatsBody, ToolCallLogBody

router = APIRouter(prefix="/api/v1/agentkit", tags=["tool call logs"])


def _query(
    start_time: str | None = Query(None),
    end_time: str | None = Query(None),
    status: list[str] = Query([]),
    provider: list[str] = Query([]),
    source: list[str] = Query([]),
    connection_id: str | None = Query(None),
    connected_account_id: str | None = Query(None),
    identifier: str | None = Query(None),
    agent_run_id: str | None = Query(None),
    connection_name: str | None = Query(None),
) -> call_logs.Query:
    return call_logs.Query(
        start_time=start_time,
        end_time=end_time,
        status=status,
        provider=provider,
        source=source,
        connection_id=connection_id,
        connected_account_id=connected_account_id,
        identifier=identifier,
        agent_run_id=agent_run_id,
        connection_name=connection_name,
    )


async def _list(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    q: call_logs.Query,
    page_size: str | None,
    page_token: str | None,
) -> ListToolCallLogsResponse:
    return await call_logs.list_calls(
        session,
        principal.environment_id,
        q,
        page_size=page_size,
        page_token=page_token,
        count_limit=runtime.services.count_limit,
    )


@router.get("/tool_call_logs", response_model=None)
async def list_tool_call_logs(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    q: call_logs.Query = Depends(_query),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> ListToolCallLogsResponse:
    return await _list(principal, session, runtime, q, page_size, page_token)


@router.get("/tool_call_logs:this", response_model=None)
async def list_current_tool_call_logs(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    q: call_logs.Query = Depends(_query),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
) -> ListToolCallLogsResponse:
    # ListCurrentToolCallLogsRequest has no `identifier`: the caller's own calls
    q = replace(q, identifier=None)
    return await _list(principal, session, runtime, q, page_size, page_token)


@router.get("/tool_call_logs/{execution_id}", response_model=None)
async def get_tool_call_log(
    principal: CurrentPrincipal, session: DbSession, execution_id: str
) -> ToolCallLogBody:
    return await call_logs.get_call(session, principal.environment_id, execution_id)


def _overview_query(
    start_time: str | None = Query(None),
    end_time: str | None = Query(None),
    provider: list[str] = Query([]),
    status: list[str] = Query([]),
    error_code: list[str] = Query([]),
    connection_name: str | None = Query(None),
    source: list[str] = Query([]),
) -> call_logs.Query:
    return call_logs.Query(
        start_time=start_time,
        end_time=end_time,
        status=status,
        provider=provider,
        source=source,
        error_code=error_code,
        connection_name=connection_name,
    )


@router.get("/analytics/overview", response_model=None)
async def overview_stats(
    principal: CurrentPrincipal,
    session: DbSession,
    q: call_logs.Query = Depends(_overview_query),
) -> OverviewStatsBody:
    return await call_logs.overview(session, principal.environment_id, q)


@router.get("/analytics/overview:this", response_model=None)
async def current_overview_stats(
    principal: CurrentPrincipal,
    session: DbSession,
    q: call_logs.Query = Depends(_overview_query),
) -> OverviewStatsBody:
    return await call_logs.overview(session, principal.environment_id, q)
