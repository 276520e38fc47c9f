"""Connected accounts: queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.connections import contains_pattern
from authrelay.store.models import ConnectedAccount, Connection


@dataclass(frozen=True)
class AccountFilter:
    connection_ids: list[str] | None = None
    identifier: str | None = None
    provider: str | None = None
    organization_id: str | None = None
    user_id: str | None = None
    query: str | None = None


async def get(
    session: AsyncSession,
    env_id: str,
    *,
    account_id: str | None,
    connection_id: str | None,
    identifier: str | None,
) -> ConnectedAccount | None:
    stmt = select(ConnectedAccount).where(ConnectedAccount.environment_id == env_id)
    if account_id:
        stmt = stmt.where(ConnectedAccount.id == account_id)
    if connection_id:
        stmt = stmt.where(ConnectedAccount.connection_id == connection_id)
    if identifier is not None:
        stmt = stmt.where(ConnectedAccount.identifier == identifier)
    return await session.scalar(stmt.limit(1))


async def page(
    session: AsyncSession, env_id: str, filters: AccountFilter, *, after_seq: int | None, limit: int
) -> tuple[list[tuple[ConnectedAccount, Connection]], int]:
    stmt = (
        select(ConnectedAccount, Connection)
        .join(Connection, Connection.id == ConnectedAccount.connection_id)
        .where(ConnectedAccount.environment_id == env_id)
    )
    if filters.connection_ids is not None:
        stmt = stmt.where(ConnectedAccount.connection_id.in_(filters.connection_ids))
    if filters.identifier:
        stmt = stmt.where(ConnectedAccount.identifier == filters.identifier)
    if filters.provider:
        stmt = stmt.where(Connection.provider_identifier == filters.provider)
    if filters.organization_id:
        stmt = stmt.where(ConnectedAccount.organization_id == filters.organization_id)
    if filters.user_id:
        stmt = stmt.where(ConnectedAccount.user_id == filters.user_id)
    if filters.query:
        like = contains_pattern(filters.query)
        stmt = stmt.where(
            or_(
                func.lower(ConnectedAccount.identifier).like(like, escape="\\"),
                func.lower(Connection.name).like(like, escape="\\"),
                func.lower(Connection.provider_identifier).like(like, escape="\\"),
            )
        )
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if after_seq is not None:
        stmt = stmt.where(ConnectedAccount.seq > after_seq)
    rows = await session.execute(stmt.order_by(ConnectedAccount.seq).limit(limit))
    return [(a, c) for a, c in rows.tuples()], total


async def delete_for_connection(session: AsyncSession, connection_id: str) -> int:
    result = await session.execute(
        delete(ConnectedAccount).where(ConnectedAccount.connection_id == connection_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def touch_last_used(session: AsyncSession, used: dict[str, datetime]) -> None:
    """One statement for the whole batch, run with every account's values (executemany):
    with many end users a flush holds thousands of accounts, and a statement each cost a
    round trip and the ORM's work per account, more than the proxied calls themselves."""
    if not used:
        return
    table = cast(Table, ConnectedAccount.__table__)
    stmt = (
        update(table)
        .where(
            table.c.id == bindparam("account_id"),
            or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("used_at")),
        )
        .values(last_used_at=bindparam("used_at"))
    )
    await session.execute(
        stmt, [{"account_id": key, "used_at": when} for key, when in used.items()]
    )


async def by_id(session: AsyncSession, account_id: str) -> ConnectedAccount | None:
    return await session.scalar(select(ConnectedAccount).where(ConnectedAccount.id == account_id))
