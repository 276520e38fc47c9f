"""The cache generations: moved in the same transaction as every change that cached
lookups depend on, read by each process to drop stale entries (runtime.py, proxy/cache.py).

Two of them, so that onboarding users (connected accounts created, updated, deleted) drops
only what depends on accounts (proxy routes, tool-call targets), not the API clients, host
bindings, tool lists and MCP configs every call also looks up."""

from __future__ import annotations

from typing import NamedTuple, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import CacheState


class Generation(NamedTuple):
    config: int  # providers, connections, API clients, hosts, tools, MCP configs
    accounts: int  # connected accounts


_state = cast(Table, CacheState.__table__)
# Built once: every change runs one of these, and building a statement (the ORM's bulk
# UPDATE path included) cost more than running it (py-spy, account creation).
_BUMP = (
    update(_state)
    .where(_state.c.id == 1)
    .values(generation=_state.c.generation + 1)
    .returning(_state.c.generation)
)
_BUMP_ACCOUNTS = (
    update(_state)
    .where(_state.c.id == 1)
    .values(accounts=_state.c.accounts + 1)
    .returning(_state.c.accounts)
)


async def bump(session: AsyncSession) -> int | None:
    """A change of configuration (everything cached may depend on it). Returns the new
    configuration generation, for the process that made the change (`Runtime.invalidate`)."""
    moved: int | None = await session.scalar(_BUMP)
    return moved


async def bump_accounts(session: AsyncSession) -> int | None:
    """A change of connected accounts only. Returns the new accounts generation."""
    moved: int | None = await session.scalar(_BUMP_ACCOUNTS)
    return moved


async def current(session: AsyncSession) -> Generation:
    row = (
        await session.execute(
            select(CacheState.generation, CacheState.accounts).where(CacheState.id == 1)
        )
    ).first()
    return Generation(int(row[0]), int(row[1])) if row else Generation(0, 0)
