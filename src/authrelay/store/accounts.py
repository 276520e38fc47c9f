"""Connected accounts: queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store import counts
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
    status: str | None = None


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


STREAMS_PER_CONNECTION = 20  # above this many connections, one query with IN (...)
CANDIDATES = 2000  # identifier matches fetched as a list; more are read as a subquery
TRIGRAM = 3  # shorter search text cannot use a trigram index: it is matched by scanning


@dataclass(frozen=True)
class _Stream:
    """One index range read of a page. `connections`: the part is exactly the accounts of
    these connections (its size is in the maintained counts unless other filters apply);
    `whole`: the part is the whole environment."""

    condition: Any
    connections: list[str] | None = None
    whole: bool = False
    #: count by primary-key lookups (the condition lists the candidate `seq`s)
    by_key: bool = False


async def page(
    session: AsyncSession,
    env_id: str,
    filters: AccountFilter,
    *,
    after_seq: int | None,
    limit: int,
    count_limit: int,
) -> tuple[list[tuple[ConnectedAccount, Connection]], int]:
    """Up to `limit` accounts after `after_seq` in `seq` order, and `total_size`.

    Every part of the answer is an index range read (migration 0004_lists): a filter on
    connections (connector, connection names, provider) reads each connection's range and
    merges them; a search (`query`) adds the accounts of the connections whose name or
    provider matches to the identifier matches found by the trigram index."""
    extra = _extra_conditions(filters)
    streams = await _streams(session, env_id, filters)
    base = [ConnectedAccount.environment_id == env_id, *extra]
    if after_seq is not None:
        base.append(ConnectedAccount.seq > after_seq)
    found: dict[int, ConnectedAccount] = {}
    for stream in streams:
        stmt = select(ConnectedAccount).where(*base, stream.condition)
        for row in await session.scalars(stmt.order_by(ConnectedAccount.seq).limit(limit)):
            found[row.seq] = row
    rows = [found[seq] for seq in sorted(found)[:limit]]
    total = await _total(session, env_id, streams, extra, count_limit)
    connections = await _connections(session, {row.connection_id for row in rows})
    return [(row, connections[row.connection_id]) for row in rows], total


def _extra_conditions(filters: AccountFilter) -> list[Any]:
    out: list[Any] = []
    if filters.identifier:
        out.append(ConnectedAccount.identifier == filters.identifier)
    if filters.organization_id:
        out.append(ConnectedAccount.organization_id == filters.organization_id)
    if filters.user_id:
        out.append(ConnectedAccount.user_id == filters.user_id)
    if filters.status:
        out.append(ConnectedAccount.status == filters.status)
    return out


async def _streams(session: AsyncSession, env_id: str, filters: AccountFilter) -> list[_Stream]:
    scope = await _connection_scope(session, env_id, filters)
    if filters.query:
        by_name = await _connections_matching(session, env_id, filters.query, scope)
        streams = [_Stream(ConnectedAccount.connection_id == cid, [cid]) for cid in by_name]
        match = [
            func.lower(ConnectedAccount.identifier).like(
                contains_pattern(filters.query), escape="\\"
            )
        ]
        candidates = await identifier_candidates(session, env_id, filters.query)
        if isinstance(candidates, list) and not candidates:
            return streams
        if candidates is not None:
            match.append(ConnectedAccount.seq.in_(candidates))
        if by_name:
            match.append(ConnectedAccount.connection_id.not_in(by_name))
        if scope is not None:
            match.append(ConnectedAccount.connection_id.in_(scope))
        return [*streams, _Stream(and_(*match), by_key=isinstance(candidates, list))]
    if scope is None:
        return [_Stream(true(), whole=True)]
    if len(scope) <= STREAMS_PER_CONNECTION:
        return [_Stream(ConnectedAccount.connection_id == cid, [cid]) for cid in scope]
    return [_Stream(ConnectedAccount.connection_id.in_(scope), scope)]


async def _connection_scope(
    session: AsyncSession, env_id: str, filters: AccountFilter
) -> list[str] | None:
    """The connections the filters allow (None: all of the environment's)."""
    scope = None if filters.connection_ids is None else sorted(set(filters.connection_ids))
    if filters.provider:
        ids = await session.scalars(
            select(Connection.id).where(
                Connection.environment_id == env_id,
                Connection.provider_identifier == filters.provider,
            )
        )
        allowed = set(ids)
        scope = sorted(allowed if scope is None else allowed.intersection(scope))
    return scope


async def _connections_matching(
    session: AsyncSession, env_id: str, query: str, scope: list[str] | None
) -> list[str]:
    like = contains_pattern(query)
    stmt = select(Connection.id).where(
        Connection.environment_id == env_id,
        or_(
            func.lower(Connection.name).like(like, escape="\\"),
            func.lower(Connection.provider_identifier).like(like, escape="\\"),
        ),
    )
    if scope is not None:
        stmt = stmt.where(Connection.id.in_(scope))
    return sorted(await session.scalars(stmt))


async def identifier_candidates(session: AsyncSession, env_id: str, query: str) -> Any:
    """The `seq`s of a superset of the environment's accounts whose identifier contains
    `query` (case-insensitive), read from the trigram index: a list when there are at most
    CANDIDATES (so the page and its count are primary-key lookups, whatever the planner
    would guess), else a subquery; None when the text is too short for a trigram index
    (the caller's LIKE then scans)."""
    if session.get_bind().dialect.name == "sqlite":
        if len(query) < TRIGRAM:
            return None
        phrase = '"' + query.replace('"', '""') + '"'
        fts = "SELECT rowid FROM connected_accounts_fts WHERE connected_accounts_fts MATCH :q"
        rows = await session.execute(text(f"{fts} LIMIT :n"), {"q": phrase, "n": CANDIDATES + 1})
        seqs = [int(row[0]) for row in rows]
        subquery: Any = text(fts).bindparams(q=phrase)
    else:
        # Materialised, so PostgreSQL reads the matches from the pg_trgm index rather than
        # walking the whole environment in `seq` order.
        matches = (
            select(ConnectedAccount.seq)
            .where(
                ConnectedAccount.environment_id == env_id,
                func.lower(ConnectedAccount.identifier).like(contains_pattern(query), escape="\\"),
            )
            .cte("identifier_matches")
            .prefix_with("MATERIALIZED")
        )
        seqs = [
            int(seq) for seq in await session.scalars(select(matches.c.seq).limit(CANDIDATES + 1))
        ]
        subquery = select(matches.c.seq)
    return sorted(seqs) if len(seqs) <= CANDIDATES else subquery


async def _total(
    session: AsyncSession,
    env_id: str,
    streams: list[_Stream],
    extra: list[Any],
    count_limit: int,
) -> int:
    """`total_size`: from the maintained counts where they answer, else each part counted
    up to `count_limit` rows (0: no limit) — docs/api.md, "Lists at scale"."""
    total = 0
    counted_connections: list[str] = []
    for stream in streams:
        if not extra and stream.whole:
            total += await counts.get(session, "accounts", [env_id])
        elif not extra and stream.connections is not None:
            counted_connections.extend(stream.connections)
        else:
            # A column no index covers: SQLite then looks the candidates up by key instead
            # of scanning a covering index of the whole environment.
            counted_column = ConnectedAccount.status if stream.by_key else literal(1)
            stmt = select(counted_column).where(
                ConnectedAccount.environment_id == env_id, *extra, stream.condition
            )
            if count_limit:
                stmt = stmt.limit(count_limit + 1)
            counted = await session.scalar(select(func.count()).select_from(stmt.subquery()))
            total += min(int(counted or 0), count_limit or int(counted or 0))
    if counted_connections:
        total += await counts.get(session, "accounts_conn", counted_connections)
    return total


async def _connections(session: AsyncSession, ids: set[str]) -> dict[str, Connection]:
    if not ids:
        return {}
    rows = await session.scalars(select(Connection).where(Connection.id.in_(sorted(ids))))
    return {row.id: row for row in rows}


async def delete_for_connection(session: AsyncSession, connection_id: str) -> int:
    result = await session.execute(
        delete(ConnectedAccount).where(ConnectedAccount.connection_id == connection_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# `last_used_at` for a batch of accounts, one statement per chunk, the values passed as
# arrays (PostgreSQL) or one JSON document (SQLite) rather than as an executemany: with many
# end users a flush holds thousands of accounts, and processing each row's parameters in
# Python (and, on PostgreSQL, running the statement once per row) held the event loop for
# tens of milliseconds at a time, the proxy's p99.
# PostgreSQL: the rows are locked first, in id order, so two workers flushing the same accounts
# (each in its own order) queue behind each other instead of deadlocking.
_LOCK_PG = text(
    "SELECT 1 FROM connected_accounts WHERE id = ANY(CAST(:ids AS text[])) ORDER BY id FOR UPDATE"
)
_TOUCH_PG = text(
    "UPDATE connected_accounts AS a SET last_used_at = u.used_at "
    "FROM unnest(CAST(:ids AS text[]), CAST(:used AS timestamptz[])) AS u(id, used_at) "
    "WHERE a.id = u.id AND (a.last_used_at IS NULL OR a.last_used_at < u.used_at)"
)
# SQLite: SQLAlchemy stores DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff', which compares as text.
_TOUCH_SQLITE = text(
    "UPDATE connected_accounts SET last_used_at = json_extract(u.value, '$[1]') "
    "FROM json_each(:batch) AS u "
    "WHERE connected_accounts.id = json_extract(u.value, '$[0]') "
    "AND (connected_accounts.last_used_at IS NULL "
    "OR connected_accounts.last_used_at < json_extract(u.value, '$[1]'))"
)
TOUCH_CHUNK = 2_000


async def touch_last_used(session: AsyncSession, used: dict[str, datetime]) -> None:
    """Store when each account was last used (never moving a value back), in chunks of
    `TOUCH_CHUNK` accounts: one statement each."""
    items = sorted(used.items())  # every chunk's locks in one ascending order (PostgreSQL)
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(items), TOUCH_CHUNK):
        chunk = items[start : start + TOUCH_CHUNK]
        if postgres:
            ids = [k for k, _ in chunk]
            await session.execute(_LOCK_PG, {"ids": ids})
            await session.execute(_TOUCH_PG, {"ids": ids, "used": [v for _, v in chunk]})
        else:
            batch = [[k, v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")] for k, v in chunk]
            await session.execute(_TOUCH_SQLITE, {"batch": json.dumps(batch)})


async def by_id(session: AsyncSession, account_id: str) -> ConnectedAccount | None:
    return await session.scalar(select(ConnectedAccount).where(ConnectedAccount.id == account_id))


async def created_at(
    session: AsyncSession, env_id: str, account_ids: list[str]
) -> dict[str, datetime]:
    rows = await session.execute(
        select(ConnectedAccount.id, ConnectedAccount.created_at).where(
            ConnectedAccount.environment_id == env_id, ConnectedAccount.id.in_(account_ids)
        )
    )
    return {row.id: row.created_at for row in rows}
