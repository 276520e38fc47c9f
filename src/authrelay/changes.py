"""Committing a change: one transaction holds the change, its audit entry and a move of the
cache generation (so other replicas drop their caches); then this process drops its own."""

from __future__ import annotations

from typing import Any

from authrelay.context import ServiceContext
from authrelay.store import AsyncSession, audit
from authrelay.store import cache as cache_store


async def commit_change(
    session: AsyncSession,
    ctx: ServiceContext,
    *,
    environment_id: str,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Raises IntegrityError (after nothing was committed) when a constraint is violated."""
    await audit.record(
        session,
        environment_id=environment_id,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
    )
    if resource_type == "connected_account":
        moved_to = await cache_store.bump_accounts(session)
        await session.commit()
        ctx.invalidate_accounts(moved_to)
    else:
        moved_to = await cache_store.bump(session)
        await session.commit()
        ctx.invalidate(moved_to)
