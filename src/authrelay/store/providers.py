"""Custom providers: queries. Rows are ordered by `seq`, which keyset pagination follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store import counts
from authrelay.store.models import ConnectedAccount, Connection, Provider


async def get_by_identifier(session: AsyncSession, env_id: str, identifier: str) -> Provider | None:
    return await session.scalar(
        select(Provider).where(Provider.environment_id == env_id, Provider.identifier == identifier)
    )


async def reread(session: AsyncSession, env_id: str, identifier: str) -> Provider | None:
    """The provider as stored now, its fields read again even when the session already
    holds the row (after a compare-and-swap); None when it is gone."""
    return await session.scalar(
        select(Provider)
        .where(Provider.environment_id == env_id, Provider.identifier == identifier)
        .execution_options(populate_existing=True)
    )


async def count(session: AsyncSession, env_id: str, identifier: str | None) -> int:
    """From the maintained counts; with `identifier`, 0 or 1 (a unique index answers)."""
    if not identifier:
        return await counts.get(session, "providers", [env_id])
    query = select(func.count()).select_from(Provider).where(Provider.environment_id == env_id)
    return int(await session.scalar(query.where(Provider.identifier == identifier)) or 0)


async def page(
    session: AsyncSession,
    env_id: str,
    *,
    identifier: str | None,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[Provider]:
    """Up to `limit` rows after `after_seq` (ascending) or before `before_seq` (returned
    ascending too)."""
    query = select(Provider).where(Provider.environment_id == env_id)
    if identifier:
        query = query.where(Provider.identifier == identifier)
    if before_seq is not None:
        rows = await session.scalars(
            query.where(Provider.seq < before_seq).order_by(Provider.seq.desc()).limit(limit)
        )
        return list(reversed(list(rows)))
    if after_seq is not None:
        query = query.where(Provider.seq > after_seq)
    return list(await session.scalars(query.order_by(Provider.seq).limit(limit)))


async def has_before(session: AsyncSession, env_id: str, identifier: str | None, seq: int) -> bool:
    query = select(Provider.seq).where(Provider.environment_id == env_id, Provider.seq < seq)
    if identifier:
        query = query.where(Provider.identifier == identifier)
    return await session.scalar(query.limit(1)) is not None


async def replace_definition(
    session: AsyncSession,
    row: Provider,
    *,
    display_name: str,
    definition: dict[str, Any],
    expected_version: int,
    updated_at: datetime,
) -> bool:
    """Compare-and-swap on `version`: False when another write got there first."""
    result = await session.execute(
        update(Provider)
        .where(Provider.seq == row.seq, Provider.version == expected_version)
        .values(
            display_name=display_name,
            definition=definition,
            version=expected_version + 1,
            updated_at=updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def connections_using(
    session: AsyncSession, env_id: str, identifier: str
) -> list[tuple[str, int]]:
    """(connection name, connected account count) for each connection of the provider."""
    rows = await session.execute(
        select(Connection.name, func.count(ConnectedAccount.seq))
        .outerjoin(ConnectedAccount, ConnectedAccount.connection_id == Connection.id)
        .where(Connection.environment_id == env_id, Connection.provider_identifier == identifier)
        .group_by(Connection.name)
        .order_by(Connection.name)
    )
    return [(name, int(n)) for name, n in rows]
