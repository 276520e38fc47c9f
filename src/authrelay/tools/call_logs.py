"""Reading the tool-call log (`/api/v1/agentkit/tool_call_logs…`, `…/analytics/overview`):
Scalekit's `agentkit_logs` messages over authrelay's `tool_call_logs` table, scoped to the
caller's environment. Filters and pagination are named as ListToolCallLogsRequest names
them; each bad one is named in the answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from authrelay.errors import FieldViolation, InvalidArgument, NotFound
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.store import AsyncSession
from authrelay.store import tool_call_logs as store
from authrelay.store.db import as_utc
from authrelay.store.models import ToolCallLog
from authrelay.tools.call_log import SOURCES, STATUSES
from authrelay_client.wire import ListToolCallLogsResponse, OverviewStatsBody, ToolCallLogBody

MAX_PAGE_SIZE = 1000
#: the overview's window when start_time is not given
DEFAULT_OVERVIEW_HOURS = 24
TOP_ERROR_CODES = 10


@dataclass
class Query:
    """The query parameters of a list or the overview, as sent (lists: repeated keys)."""

    start_time: str | None = None
    end_time: str | None = None
    status: list[str] = field(default_factory=list)
    provider: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    error_code: list[str] = field(default_factory=list)
    connection_id: str | None = None
    connection_name: str | None = None
    connected_account_id: str | None = None
    identifier: str | None = None
    agent_run_id: str | None = None


def _stamp(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _time(name: str, value: str | None, violations: list[FieldViolation]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        violations.append(
            FieldViolation(name, "must be an RFC 3339 time with an offset: 2026-01-02T03:04:05Z")
        )
        return None
    return parsed.astimezone(UTC)


def _choices(
    name: str, values: list[str], allowed: tuple[str, ...], violations: list[FieldViolation]
) -> tuple[str, ...]:
    """Each value (case-insensitive, comma-separated lists too) as one of `allowed`."""
    out: list[str] = []
    for raw in values:
        for part in raw.split(","):
            value = part.strip().upper()
            if value in allowed:
                out.append(value)
            elif value:
                violations.append(
                    FieldViolation(name, f"{part.strip()!r} is not one of {', '.join(allowed)}")
                )
    return tuple(out)


def _plain(values: list[str]) -> tuple[str, ...]:
    return tuple(p.strip() for raw in values for p in raw.split(",") if p.strip())


def filters_of(environment_id: str, q: Query) -> store.Filters:
    """The store's filters for `q`, or InvalidArgument naming every bad parameter."""
    violations: list[FieldViolation] = []
    start = _time("start_time", q.start_time, violations)
    end = _time("end_time", q.end_time, violations)
    if start is not None and end is not None and end <= start:
        violations.append(FieldViolation("end_time", "must be after start_time"))
    statuses = _choices("status", q.status, STATUSES, violations)
    sources = _choices("source", q.source, SOURCES, violations)
    if violations:
        raise InvalidArgument.from_violations(violations)
    return store.Filters(
        environment_id,
        start=start,
        end=end,
        statuses=statuses,
        providers=_plain(q.provider),
        sources=sources,
        error_codes=tuple(c.upper() for c in _plain(q.error_code)),
        connection_id=(q.connection_id or "").strip(),
        connection_name=(q.connection_name or "").strip(),
        connected_account_id=(q.connected_account_id or "").strip(),
        identifier=q.identifier or "",
        agent_run_id=(q.agent_run_id or "").strip(),
    )


def body_of(row: ToolCallLog) -> ToolCallLogBody:
    """The ToolCallLog message's JSON (proto field names), plus `upstream_status`."""
    return {
        "id": "tcl_" + row.execution_id.removeprefix("exe_"),
        "environment_id": row.environment_id,
        "execution_id": row.execution_id,
        "agent_run_id": row.agent_run_id,
        "tool_name": row.tool_name,
        "provider": row.provider,
        "connected_account_id": row.connected_account_id,
        "connection_id": row.connection_id,
        "connection_name": row.connection_name,
        "identifier": row.identifier,
        "user_id": row.user_id,
        "organization_id": row.organization_id,
        "source": row.source,  # type: ignore[typeddict-item]
        "status": row.status,  # type: ignore[typeddict-item]
        "error_tier": row.error_tier,  # type: ignore[typeddict-item]
        "error_code": row.error_code,
        "error_message": row.error_message,
        "duration_ms": row.duration_ms,
        "started_at": _stamp(row.started_at),
        "upstream_status": row.upstream_status,
    }


def _position(token: str) -> tuple[datetime, int]:
    position = decode_cursor(token)
    try:
        at, seq = position
        if not isinstance(at, str) or not isinstance(seq, int):
            raise TypeError
        return datetime.fromisoformat(at), seq
    except (TypeError, ValueError):
        raise bad_token() from None


async def list_calls(
    session: AsyncSession,
    environment_id: str,
    q: Query,
    *,
    page_size: str | None,
    page_token: str | None,
    count_limit: int,
) -> ListToolCallLogsResponse:
    """One page of the environment's calls, newest first."""
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    filters = filters_of(environment_id, q)
    after = _position(page_token) if page_token else None
    rows, total = await store.list_logs(
        session, filters, after=after, limit=size + 1, count_limit=count_limit
    )
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if rows else None
    return {
        "tool_call_logs": [body_of(r) for r in rows],
        "next_page_token": (
            encode_cursor([as_utc(last.started_at).isoformat(), last.seq])
            if more and last is not None
            else ""
        ),
        "prev_page_token": "",
        "total_size": total,
    }


async def get_call(
    session: AsyncSession, environment_id: str, execution_id: str
) -> ToolCallLogBody:
    row = await store.by_execution_id(session, environment_id, execution_id)
    if row is None:
        raise NotFound(
            f"no tool call {execution_id!r} in this environment's log (calls are listed "
            "about a second after they end, and kept for AUTHRELAY_TOOL_CALL_LOG_RETENTION_DAYS)",
            [FieldViolation("execution_id", "no such tool call")],
        )
    return body_of(row)


def bucket_seconds(start: datetime, end: datetime) -> int:
    """Hours for up to two days, days for up to 90, weeks beyond."""
    span = end - start
    if span <= timedelta(days=2):
        return 3600
    return 86400 if span <= timedelta(days=90) else 7 * 86400


async def overview(session: AsyncSession, environment_id: str, q: Query) -> OverviewStatsBody:
    """Counts over the window (start_time, default the last 24 hours; end_time, default
    now): totals, errors by tier, the most frequent error codes, per provider, per bucket."""
    filters = filters_of(environment_id, q)
    end = filters.end or datetime.fromtimestamp(time.time(), UTC)
    start = filters.start or end - timedelta(hours=DEFAULT_OVERVIEW_HOURS)
    if end <= start:
        raise InvalidArgument.field("start_time", "must be before end_time (default: now)")
    filters = replace(filters, start=start, end=end)
    seconds = bucket_seconds(start, end)
    whole, providers, codes, buckets = await store.overview(
        session, filters, seconds, TOP_ERROR_CODES
    )
    errors = whole.total - whole.success
    return {
        "total": whole.total,
        "success": whole.success,
        "errors": errors,
        "provider_errors": whole.provider_errors,
        "platform_errors": whole.platform_errors,
        "top_error_codes": [{"error_code": str(c.key), "count": c.total} for c in codes],
        "connector_breakdown": [
            {
                "provider": str(p.key),
                "total": p.total,
                "success": p.success,
                "errors": p.total - p.success,
                "provider_errors": p.provider_errors,
                "platform_errors": p.platform_errors,
            }
            for p in providers
        ],
        "time_series": [
            {
                "bucket": _stamp(datetime.fromtimestamp(int(b.key), UTC)),
                "total": b.total,
                "success": b.success,
                "errors": b.total - b.success,
                "bucket_duration_seconds": seconds,
                "provider_errors": b.provider_errors,
                "platform_errors": b.platform_errors,
            }
            for b in buckets
        ],
    }
