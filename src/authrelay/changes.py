"""Committing a change: one transaction holds the change, its audit entry and a move of the
cache generation (so other replicas drop their caches); then this process drops its own.

Every service writes its audit entries here, in the name of a principal: the entry records
the principal's environment and actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import AlreadyExists
from authrelay.store import AsyncSession, IntegrityError, audit
from authrelay.store import cache as cache_store
from authrelay.store.audit import Change

__all__ = ["Change", "UniqueName", "commit_change", "record"]

R = TypeVar("R")

#: connected accounts move their own cache generation (store/cache.py), everything else the
#: configuration's
_ACCOUNT = "connected_account"


async def record(session: AsyncSession, principal: Principal, change: Change) -> None:
    """Add the audit entry of `change` to the session; the caller commits it."""
    await audit.record(session, principal.environment_id, principal.actor, change)


async def commit_change(
    session: AsyncSession, ctx: ServiceContext, principal: Principal, *changes: Change
) -> None:
    """Audit each change, move the cache generation they touch, commit, and drop this
    process's caches. Raises IntegrityError (after nothing was committed) when a constraint
    is violated."""
    for change in changes:
        await record(session, principal, change)
    if changes and all(change.resource_type == _ACCOUNT for change in changes):
        moved_to = await cache_store.bump_accounts(session)
        await session.commit()
        ctx.invalidate_accounts(moved_to)
    else:
        moved_to = await cache_store.bump(session)
        await session.commit()
        ctx.invalidate(moved_to)


@dataclass(frozen=True)
class UniqueName(Generic[R]):
    """A name one resource of an environment may hold: how the holder is found, and the
    refusal naming it. Checked before a change, and again when it is committed: a concurrent
    duplicate surfaces only there (on PostgreSQL at the flush)."""

    find: Callable[[], Awaitable[R | None]]
    taken: Callable[[R], AlreadyExists]

    async def check(self) -> None:
        holder = await self.find()
        if holder is not None:
            raise self.taken(holder)

    async def commit_change(
        self, session: AsyncSession, ctx: ServiceContext, principal: Principal, change: Change
    ) -> None:
        """`commit_change`, refusing the change if another holds the name by then."""
        try:
            await commit_change(session, ctx, principal, change)
        except IntegrityError:
            await session.rollback()
            holder = await self.find()
            if holder is None:
                raise
            raise self.taken(holder) from None
