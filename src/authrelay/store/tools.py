"""Tools: queries. Rows are ordered by `seq`, which keyset pagination follows.

The built-in tools (`store.builtin_tools`, in memory, negative `seq`) are part of every
environment's answers unless `builtin=False` (the stored rows only, for changes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.builtin_tools import builtin_by_id, builtin_by_name, select_builtin
from authrelay.store.models import ConnectedAccount, Connection, Tool


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    query: Select[Any], env_id: str, providers: Sequence[str], names: Sequence[str], text: str
) -> Select[Any]:
    query = query.where(Tool.environment_id == env_id)
    if providers:
        query = query.where(Tool.provider_identifier.in_(list(providers)))
    if names:
        query = query.where(Tool.name.in_(list(names)))
    if text:
        like = f"%{_escape_like(text.lower())}%"
        query = query.where(
            or_(
                func.lower(Tool.name).like(like, escape="\\"),
                func.lower(Tool.provider_identifier).like(like, escape="\\"),
            )
        )
    return query


async def page(
    session: AsyncSession,
    env_id: str,
    *,
    providers: Sequence[str] = (),
    names: Sequence[str] = (),
    after_seq: int | None = None,
    limit: int | None = None,
    builtin: bool = True,
) -> list[Tool]:
    shipped = select_builtin(providers, names, after_seq) if builtin else []
    if limit is not None and len(shipped) >= limit:
        return shipped[:limit]
    query = _filtered(select(Tool), env_id, providers, names, "")
    if after_seq is not None:
        query = query.where(Tool.seq > after_seq)
    query = query.order_by(Tool.seq)
    if limit is not None:
        query = query.limit(limit - len(shipped))
    return shipped + list(await session.scalars(query))


async def count(
    session: AsyncSession, env_id: str, *, providers: Sequence[str] = (), names: Sequence[str] = ()
) -> int:
    query = _filtered(select(func.count()).select_from(Tool), env_id, providers, names, "")
    return len(select_builtin(providers, names)) + int(await session.scalar(query) or 0)


async def by_name(session: AsyncSession, env_id: str, name: str) -> Tool | None:
    shipped = builtin_by_name(name)
    if shipped is not None:
        return shipped
    return await session.scalar(
        select(Tool).where(Tool.environment_id == env_id, Tool.name == name)
    )


async def by_id(session: AsyncSession, env_id: str, tool_id: str) -> Tool | None:
    shipped = builtin_by_id(tool_id)
    if shipped is not None:
        return shipped
    return await session.scalar(
        select(Tool).where(Tool.environment_id == env_id, Tool.id == tool_id)
    )


async def for_provider(session: AsyncSession, env_id: str, provider: str) -> list[Tool]:
    """The provider's stored tools (not the built-in ones, which cannot change)."""
    return await page(session, env_id, providers=[provider], builtin=False)


async def accounts_of(
    session: AsyncSession, env_id: str, identifier: str
) -> list[tuple[ConnectedAccount, Connection]]:
    """Every connected account of `identifier` with its connection, oldest first."""
    rows = await session.execute(
        select(ConnectedAccount, Connection)
        .join(Connection, ConnectedAccount.connection_id == Connection.id)
        .where(ConnectedAccount.environment_id == env_id, ConnectedAccount.identifier == identifier)
        .order_by(ConnectedAccount.seq)
    )
    return [(account, connection) for account, connection in rows]


async def enabled_connections(session: AsyncSession, env_id: str) -> list[Connection]:
    return list(
        await session.scalars(
            select(Connection).where(Connection.environment_id == env_id, Connection.enabled)
        )
    )


async def delete_for_provider(session: AsyncSession, env_id: str, provider: str) -> list[str]:
    """Delete a provider's tools (with the provider); their names."""
    rows = await page(session, env_id, providers=[provider], builtin=False)
    for row in rows:
        await session.delete(row)
    return [row.name for row in rows]
