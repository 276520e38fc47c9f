"""MCP configs: queries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import McpConfig


async def get(session: AsyncSession, env_id: str, config_id: str) -> McpConfig | None:
    return await session.scalar(
        select(McpConfig).where(McpConfig.environment_id == env_id, McpConfig.id == config_id)
    )


async def name_taken(session: AsyncSession, env_id: str, name: str) -> bool:
    taken = await session.scalar(
        select(McpConfig.id).where(McpConfig.environment_id == env_id, McpConfig.name == name)
    )
    return taken is not None


async def page(
    session: AsyncSession,
    env_id: str,
    *,
    config_id: str | None,
    name: str | None,
    after: int,
    size: int,
) -> tuple[int | None, list[McpConfig]]:
    """The filter's total and up to `size + 1` configs after `seq` `after` (one more than a
    page tells whether another follows)."""
    query = select(McpConfig).where(McpConfig.environment_id == env_id)
    if config_id:
        query = query.where(McpConfig.id == config_id)
    if name:
        query = query.where(func.lower(McpConfig.name) == name.lower())
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(
        await session.scalars(
            query.where(McpConfig.seq > after).order_by(McpConfig.seq).limit(size + 1)
        )
    )
    return total, rows


async def by_name(session: AsyncSession, env_id: str, name: str) -> McpConfig | None:
    """The config named `name` (names are lower-case; matched without regard to case)."""
    return await session.scalar(
        select(McpConfig).where(
            McpConfig.environment_id == env_id, func.lower(McpConfig.name) == name.lower()
        )
    )
