"""Authorization flows (`auth_flows`): queries. A flow is found by the hash of its link, its
OAuth `state` or its id, and moves from one status to the next with a compare-and-swap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import AuthFlow, ConnectedAccount

T = TypeVar("T")


async def by_link_hash(session: AsyncSession, link_hash: str) -> AuthFlow | None:
    return await session.scalar(select(AuthFlow).where(AuthFlow.link_hash == link_hash))


async def by_state_hash(session: AsyncSession, state_hash: str) -> AuthFlow | None:
    return await session.scalar(select(AuthFlow).where(AuthFlow.state_hash == state_hash))


async def by_id(session: AsyncSession, flow_id: str) -> AuthFlow | None:
    return await session.get(AuthFlow, flow_id)


async def account_by_identifier(
    session: AsyncSession, connection_id: str, identifier: str
) -> ConnectedAccount | None:
    """The connection's account for `identifier`, the one a new link would otherwise add."""
    return await session.scalar(
        select(ConnectedAccount).where(
            ConnectedAccount.connection_id == connection_id,
            ConnectedAccount.identifier == identifier,
        )
    )


async def claim(
    session: AsyncSession, flow: AuthFlow, expected: str, new: str, **values: Any
) -> bool:
    """Move a flow from one status to the next exactly once, whoever else tries."""
    result = await session.execute(
        update(AuthFlow)
        .where(AuthFlow.id == flow.id, AuthFlow.status == expected)
        .values(status=new, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def once_more_after_conflict(session: AsyncSession, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt`; when a unique constraint refuses its insert (another request added the
    same row at once), roll back and run it again: the second run finds that row."""
    try:
        return await attempt()
    except IntegrityError:
        await session.rollback()
        return await attempt()
