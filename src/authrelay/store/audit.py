"""The audit log: every change to a resource, with its public before/after state."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.db import new_id, utcnow
from authrelay.store.models import AuditEntry


class Change(NamedTuple):
    """One audited change: `action` ("<resource type>.<verb>") on the resource `resource_id`,
    with its public state before and after (None where it did not or does not exist)."""

    action: str
    resource_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def resource_type(self) -> str:
        """The action's first part: `connected_account.create` is done to a
        `connected_account`."""
        return self.action.partition(".")[0]


async def record(session: AsyncSession, environment_id: str, actor: str, change: Change) -> None:
    session.add(
        AuditEntry(
            id=new_id("aud"),
            environment_id=environment_id,
            actor=actor,
            action=change.action,
            resource_type=change.resource_type,
            resource_id=change.resource_id,
            before=change.before,
            after=change.after,
            created_at=utcnow(),
        )
    )


async def list_entries(
    session: AsyncSession,
    environment_id: str,
    *,
    before_seq: int | None,
    limit: int,
    resource_type: str | None,
    resource_id: str | None,
    actor: str | None = None,
    action: str | None = None,
    count_limit: int,
) -> tuple[list[AuditEntry], int]:
    """Newest first; `before_seq` continues from a previous page. The total counts up to
    `count_limit` entries (0: all): the log only grows, and a count of all of it would cost
    a scan on every page (docs/api.md, "Lists at scale")."""
    conditions = [AuditEntry.environment_id == environment_id]
    for column, value in (
        (AuditEntry.resource_type, resource_type),
        (AuditEntry.resource_id, resource_id),
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
    ):
        if value:
            conditions.append(column == value)
    counted = select(AuditEntry.seq).where(*conditions)
    if count_limit:
        counted = counted.limit(count_limit)
    total = await session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    query = select(AuditEntry).where(*conditions)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    rows = await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit))
    return list(rows), total
