"""Tool-call logs: batched inserts, retention, the filtered list, one call by execution id,
and the overview counts (docs/tools.md, "Tool call logs")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import Connection, ToolCallLog

_TABLE: Final[Table] = cast(Table, ToolCallLog.__table__)


@dataclass(frozen=True)
class Filters:
    """What a list or the overview is narrowed to (an empty value: no narrowing)."""

    environment_id: str
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    connection_id: str = ""
    connection_name: str = ""
    connected_account_id: str = ""
    identifier: str = ""
    agent_run_id: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [ToolCallLog.environment_id == self.environment_id]
        if self.start is not None:
            where.append(ToolCallLog.started_at >= self.start)
        if self.end is not None:
            where.append(ToolCallLog.started_at < self.end)
        for column, values in (
            (ToolCallLog.status, self.statuses),
            (ToolCallLog.provider, self.providers),
            (ToolCallLog.source, self.sources),
            (ToolCallLog.error_code, self.error_codes),
        ):
            if values:
                where.append(column.in_(values))
        for column, value in (
            (ToolCallLog.connection_id, self.connection_id),
            (ToolCallLog.connection_name, self.connection_name),
            (ToolCallLog.connected_account_id, self.connected_account_id),
            (ToolCallLog.identifier, self.identifier),
            (ToolCallLog.agent_run_id, self.agent_run_id),
        ):
            if value:
                where.append(column == value)
        return where


async def insert_batch(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (column values; `connection_id` is filled here from each row's
    environment and connection name, one query for the batch)."""
    if not rows:
        return
    wanted = {(r["environment_id"], r["connection_name"]) for r in rows if r["connection_name"]}
    ids: dict[tuple[str, str], str] = {}
    if wanted:
        found = await session.execute(
            select(Connection.environment_id, Connection.name, Connection.id).where(
                Connection.environment_id.in_({env for env, _ in wanted}),
                Connection.name.in_({name for _, name in wanted}),
            )
        )
        ids = {(env, name): cid for env, name, cid in found.all()}
    for row in rows:
        row["connection_id"] = ids.get((row["environment_id"], row["connection_name"]), "")
    # a Core insert: the ORM's bulk insert cost several times as much per row
    await session.execute(insert(_TABLE), rows)


async def delete_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete every call that started before `cutoff`; how many went."""
    result = await session.execute(delete(ToolCallLog).where(ToolCallLog.started_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


async def list_logs(
    session: AsyncSession,
    filters: Filters,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    count_limit: int,
) -> tuple[list[ToolCallLog], int]:
    """Newest first (start time, then insertion order); `after` is the last row of the
    previous page. The total counts up to `count_limit` rows (0: all)."""
    where = filters.conditions()
    counted = select(ToolCallLog.seq).where(*where)
    if count_limit:
        counted = counted.limit(count_limit)
    total = await session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    query = select(ToolCallLog).where(*where)
    if after is not None:
        at, seq = after
        query = query.where(
            or_(
                ToolCallLog.started_at < at,
                and_(ToolCallLog.started_at == at, ToolCallLog.seq < seq),
            )
        )
    rows = await session.scalars(
        query.order_by(ToolCallLog.started_at.desc(), ToolCallLog.seq.desc()).limit(limit)
    )
    return list(rows), total


async def by_execution_id(
    session: AsyncSession, environment_id: str, execution_id: str
) -> ToolCallLog | None:
    return await session.scalar(
        select(ToolCallLog).where(
            ToolCallLog.environment_id == environment_id,
            ToolCallLog.execution_id == execution_id,
        )
    )


@dataclass(frozen=True)
class Counts:
    """Calls, successes, and errors by tier, for one group."""

    key: Any
    total: int
    success: int
    provider_errors: int
    platform_errors: int


def _counted() -> tuple[ColumnElement[Any], ...]:
    def tier(name: str) -> ColumnElement[Any]:
        return func.sum(case((ToolCallLog.error_tier == name, 1), else_=0))

    return (
        func.count(),
        func.sum(case((ToolCallLog.status == "SUCCESS", 1), else_=0)),
        tier("PROVIDER"),
        tier("PLATFORM"),
    )


def _counts(rows: Sequence[Any]) -> list[Counts]:
    return [
        Counts(key, int(total), int(ok or 0), int(provider or 0), int(platform or 0))
        for key, total, ok, provider, platform in rows
    ]


def _bucket(session: AsyncSession, seconds: int) -> ColumnElement[Any]:
    """The start of the `seconds`-long bucket a call's start falls in, as epoch seconds."""
    if session.get_bind().dialect.name == "sqlite":
        epoch: ColumnElement[Any] = func.cast(func.strftime("%s", ToolCallLog.started_at), Integer)
    else:
        epoch = func.cast(func.floor(func.extract("epoch", ToolCallLog.started_at)), BigInteger)
    return (epoch / seconds) * seconds


async def overview(
    session: AsyncSession, filters: Filters, bucket_seconds: int, top: int
) -> tuple[Counts, list[Counts], list[Counts], list[Counts]]:
    """(all calls, per provider, per error code (errors only, most frequent first, at most
    `top`), per time bucket (epoch seconds, in time order))."""
    where = filters.conditions()
    [whole] = _counts((await session.execute(select(literal(""), *_counted()).where(*where))).all())
    per_provider = _counts(
        (
            await session.execute(
                select(ToolCallLog.provider, *_counted())
                .where(*where)
                .group_by(ToolCallLog.provider)
                .order_by(func.count().desc(), ToolCallLog.provider)
            )
        ).all()
    )
    per_code = _counts(
        (
            await session.execute(
                select(ToolCallLog.error_code, *_counted())
                .where(*where, ToolCallLog.status != "SUCCESS")
                .group_by(ToolCallLog.error_code)
                .order_by(func.count().desc(), ToolCallLog.error_code)
                .limit(top)
            )
        ).all()
    )
    bucket = _bucket(session, bucket_seconds).label("bucket")
    per_bucket = _counts(
        (
            await session.execute(
                select(bucket, *_counted()).where(*where).group_by(bucket).order_by(bucket)
            )
        ).all()
    )
    return whole, per_provider, per_code, per_bucket
