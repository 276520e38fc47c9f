"""The cache generation: bumped in the same transaction as every change that cached
lookups depend on, polled by each process to drop stale entries (see proxy/cache.py)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import CacheState


async def bump(session: AsyncSession) -> None:
    await session.execute(
        update(CacheState).where(CacheState.id == 1).values(generation=CacheState.generation + 1)
    )


async def current(session: AsyncSession) -> int:
    return int(await session.scalar(select(CacheState.generation).where(CacheState.id == 1)) or 0)
