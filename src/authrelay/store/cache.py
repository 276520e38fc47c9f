"""The cache generations: moved in the same transaction as every change that cached
lookups depend on, read by each process to drop stale entries (runtime.py, proxy/cache.py).

Two of them, so that onboarding users (connected accounts created, updated, deleted) drops
only what depends on accounts (proxy routes, tool-call targets), not the API clients, host
bindings, tool lists and MCP configs every call also looks up."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import CacheState


class Generation(NamedTuple):
    config: int  # providers, connections, API clients, hosts, tools, MCP configs
    accounts: int  # connected accounts


async def bump(session: AsyncSession) -> int | None:
    """A change of configuration (everything cached may depend on it). Returns the new
    configuration generation, for the process that made the change (`Runtime.invalidate`)."""
    return await session.scalar(
        update(CacheState)
        .where(CacheState.id == 1)
        .values(generation=CacheState.generation + 1)
        .returning(CacheState.generation)
    )


async def bump_accounts(session: AsyncSession) -> int | None:
    """A change of connected accounts only. Returns the new accounts generation."""
    return await session.scalar(
        update(CacheState)
        .where(CacheState.id == 1)
        .values(accounts=CacheState.accounts + 1)
        .returning(CacheState.accounts)
    )


async def current(session: AsyncSession) -> Generation:
    row = (
        await session.execute(
            select(CacheState.generation, CacheState.accounts).where(CacheState.id == 1)
        )
    ).first()
    return Generation(int(row[0]), int(row[1])) if row else Generation(0, 0)
