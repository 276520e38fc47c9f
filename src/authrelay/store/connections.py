"""Connections: queries."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import ConnectedAccount, Connection


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching `text` anywhere, literally:
    `%` and `_` in a search query are not wildcards."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def get(session: AsyncSession, env_id: str, id_or_name: str) -> Connection | None:
    """By id, else by name (an id match wins, so the answer is never ambiguous)."""
    rows = await session.scalars(
        select(Connection).where(
            Connection.environment_id == env_id,
            or_(Connection.id == id_or_name, Connection.name == id_or_name),
        )
    )
    found = list(rows)
    return next((row for row in found if row.id == id_or_name), found[0] if found else None)


async def by_name(session: AsyncSession, env_id: str, name: str) -> Connection | None:
    return await session.scalar(
        select(Connection).where(Connection.environment_id == env_id, Connection.name == name)
    )


async def page(
    session: AsyncSession,
    env_id: str,
    *,
    provider: str | None,
    query: str | None,
    after_name: str | None,
    limit: int,
) -> tuple[list[Connection], int]:
    stmt = select(Connection).where(Connection.environment_id == env_id)
    if provider:
        stmt = stmt.where(Connection.provider_identifier == provider)
    if query:
        like = contains_pattern(query)
        stmt = stmt.where(
            or_(
                func.lower(Connection.name).like(like, escape="\\"),
                func.lower(Connection.provider_identifier).like(like, escape="\\"),
            )
        )
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if after_name is not None:
        stmt = stmt.where(Connection.name > after_name)
    rows = await session.scalars(stmt.order_by(Connection.name).limit(limit))
    return list(rows), total


async def account_count(session: AsyncSession, connection_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ConnectedAccount)
            .where(ConnectedAccount.connection_id == connection_id)
        )
        or 0
    )


async def provider_identifiers(session: AsyncSession, env_id: str) -> list[str]:
    """The providers that have at least one connection in the environment, sorted."""
    rows = await session.scalars(
        select(Connection.provider_identifier)
        .where(Connection.environment_id == env_id)
        .distinct()
        .order_by(Connection.provider_identifier)
    )
    return list(rows)
