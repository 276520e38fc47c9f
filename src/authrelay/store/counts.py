"""Maintained row counts (table `row_counts`, kept by triggers: migration 0004_lists)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import RowCount


async def get(session: AsyncSession, resource: str, scopes: Iterable[str]) -> int:
    """The sum of the counts of `resource` over `scopes` (0 for a scope never counted)."""
    wanted = sorted(set(scopes))
    if not wanted:
        return 0
    stmt = select(func.coalesce(func.sum(RowCount.n), 0)).where(RowCount.resource == resource)
    stmt = (
        stmt.where(RowCount.scope == wanted[0])
        if len(wanted) == 1
        else stmt.where(RowCount.scope.in_(wanted))
    )
    return int(await session.scalar(stmt) or 0)
