"""The audit log: every change to a resource, with its public before/after state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.db import new_id, utcnow
from authrelay.store.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    environment_id: str,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEntry(
            id=new_id("aud"),
            environment_id=environment_id,
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            before=before,
            after=after,
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
) -> tuple[list[AuditEntry], int]:
    """Newest first; `before_seq` continues from a previous page."""
    query = select(AuditEntry).where(AuditEntry.environment_id == environment_id)
    if resource_type:
        query = query.where(AuditEntry.resource_type == resource_type)
    if resource_id:
        query = query.where(AuditEntry.resource_id == resource_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    rows = await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit))
    return list(rows), total
