"""MCP instances: queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import McpConfig, McpInstance


async def get(session: AsyncSession, env_id: str, instance_id: str) -> McpInstance | None:
    return await session.scalar(
        select(McpInstance).where(
            McpInstance.environment_id == env_id, McpInstance.id == instance_id
        )
    )


async def find(
    session: AsyncSession, config_id: str, user_identifier: str, name: str
) -> McpInstance | None:
    """The instance with this (config, user, name), the key `EnsureMcpInstance` keeps unique."""
    return await session.scalar(
        select(McpInstance).where(
            McpInstance.config_id == config_id,
            McpInstance.user_identifier == user_identifier,
            McpInstance.name == name,
        )
    )


async def by_key_hash(session: AsyncSession, key_hash: str) -> McpInstance | None:
    """The instance whose URL key hashes to `key_hash` (any environment)."""
    return await session.scalar(select(McpInstance).where(McpInstance.key_hash == key_hash))


async def config_names(session: AsyncSession, config_ids: list[str]) -> dict[str, McpConfig]:
    """Config id → config, for the configs of a page of instances."""
    if not config_ids:
        return {}
    rows = await session.scalars(select(McpConfig).where(McpConfig.id.in_(sorted(config_ids))))
    return {row.id: row for row in rows}


async def page(
    session: AsyncSession,
    env_id: str,
    *,
    instance_id: str | None,
    name: str | None,
    config_id: str | None,
    user_identifier: str | None,
    search: str | None,
    after: int,
    size: int,
) -> tuple[int | None, list[McpInstance]]:
    """The filter's total and up to `size + 1` instances after `seq` `after` (one more than
    a page tells whether another follows)."""
    query = select(McpInstance).where(McpInstance.environment_id == env_id)
    if instance_id:
        query = query.where(McpInstance.id == instance_id)
    if name:
        query = query.where(McpInstance.name == name)
    if config_id:
        query = query.where(McpInstance.config_id == config_id)
    if user_identifier:
        query = query.where(McpInstance.user_identifier == user_identifier)
    if search:
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(func.lower(McpInstance.name).like(pattern, escape="\\"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(
        await session.scalars(
            query.where(McpInstance.seq > after).order_by(McpInstance.seq).limit(size + 1)
        )
    )
    return total, rows


async def touch(session: AsyncSession, instance_id: str, now: datetime, before: datetime) -> None:
    """Set `last_used_at` to `now` unless it is already at or after `before` (so a busy
    instance is written at most once per interval); committed."""
    await session.execute(
        update(McpInstance)
        .where(
            McpInstance.id == instance_id,
            (McpInstance.last_used_at.is_(None)) | (McpInstance.last_used_at < before),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
