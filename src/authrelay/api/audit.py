"""`GET /api/v1/audit-logs`: the environment's change history, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.audit import list_audit_log
from authrelay_client.wire import ListAuditLogsResponse

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit-logs", response_model=None)
async def audit_logs(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    resource_type: str | None = Query(None),
    resource_id: str | None = Query(None),
) -> ListAuditLogsResponse:
    return await list_audit_log(
        session,
        principal,
        page_size=page_size,
        page_token=page_token,
        resource_type=resource_type,
        resource_id=resource_id,
        count_limit=runtime.services.count_limit,
    )
