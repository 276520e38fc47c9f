"""Reading the audit log (entries are written by each service in its own transaction)."""

from __future__ import annotations

from authrelay.auth.principal import Principal
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.store import AsyncSession
from authrelay.store import audit as store
from authrelay.store.db import as_utc
from authrelay_client.wire import ListAuditLogsResponse


async def list_audit_log(
    session: AsyncSession,
    principal: Principal,
    *,
    page_size: str | None,
    page_token: str | None,
    resource_type: str | None,
    resource_id: str | None,
    actor: str | None = None,
    action: str | None = None,
    count_limit: int,
) -> ListAuditLogsResponse:
    size = parse_page_size(page_size, 1000)
    before_seq = None
    if page_token:
        before_seq = decode_cursor(page_token)
        if not isinstance(before_seq, int):
            raise bad_token()
    rows, total = await store.list_entries(
        session,
        principal.environment_id,
        before_seq=before_seq,
        limit=size + 1,
        resource_type=resource_type,
        resource_id=resource_id,
        actor=actor,
        action=action,
        count_limit=count_limit,
    )
    more = len(rows) > size
    rows = rows[:size]
    return {
        "audit_logs": [
            {
                "id": r.id,
                "actor": {"client_id": r.actor},
                "action": r.action,
                "resource_type": r.resource_type,
                "resource_id": r.resource_id,
                "before": r.before,
                "after": r.after,
                "created_at": as_utc(r.created_at).isoformat().replace("+00:00", "Z"),
            }
            for r in rows
        ],
        "next_page_token": encode_cursor(rows[-1].seq) if more else "",
        "total_size": total,
    }
