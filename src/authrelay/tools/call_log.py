"""The tool-call log: every tool call (REST `execute_tool`, MCP `tools/call`, gRPC
`ExecuteTool`) becomes one row of `tool_call_logs`, written off the request path.

A call only appends a `CallRecord` to a bounded in-memory queue (no I/O, no lock: the
event loop's thread is the only writer). A background task (`CallLog.run`) writes what is
queued in batches, every `AUTHRELAY_TOOL_CALL_LOG_FLUSH_SECONDS` or as soon as
`BATCH_ROWS` are waiting, one transaction per batch, and deletes rows older than
`AUTHRELAY_TOOL_CALL_LOG_RETENTION_DAYS`. When the queue is full (the database is slower
than the calls, or down) the oldest record is dropped and counted
(`authrelay_tool_call_logs_dropped_total`): the log never slows a call down nor grows
without bound. The runtime flushes what is left on shutdown.

What is kept: ids, names, the outcome and its timing, the message the caller was answered
(already free of the call's credentials: upstream text is redacted where it enters an
answer, `authrelay.redact`). Never the tool's inputs or outputs, nor the upstream's body.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from authrelay.store import AsyncSession, async_sessionmaker
from authrelay.store import tool_call_logs as store

log = logging.getLogger("authrelay.tools")

SOURCES: Final = ("REST", "MCP", "GRPC")
STATUSES: Final = ("SUCCESS", "ERROR")
TIERS: Final = ("PROVIDER", "PLATFORM")
#: a batch's size: the flush starts early once this many are queued
BATCH_ROWS: Final = 500
#: how often old rows are deleted (the first round deletes at once)
PRUNE_EVERY_SECONDS: Final = 60.0
MAX_MESSAGE_CHARS: Final = 1000


@dataclass(slots=True)
class CallRecord:
    """One finished tool call, as the queue holds it until it is written."""

    environment_id: str
    execution_id: str
    tool_name: str
    source: str
    started_at: float  # epoch seconds
    duration_ms: int
    status: str = "SUCCESS"
    provider: str = ""
    connection_name: str = ""
    connected_account_id: str = ""
    identifier: str = ""
    agent_run_id: str = ""
    user_id: str = ""
    organization_id: str = ""
    error_tier: str = ""
    error_code: str = ""
    error_message: str = ""
    upstream_status: int = 0

    def row(self) -> dict[str, object]:
        """The row's column values (by hand: `dataclasses.asdict` deep-copies each field
        and cost most of a flush)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values["started_at"] = datetime.fromtimestamp(self.started_at, UTC)
        values["error_message"] = self.error_message[:MAX_MESSAGE_CHARS]
        return values


_FIELDS: Final = CallRecord.__slots__


class CallLog:
    """The queue of finished calls and the task that writes them. `dropped` is a one-item
    list so that the metrics collector reads it without a reference to this object."""

    def __init__(self, max_queued: int, dropped: list[int] | None = None) -> None:
        self.max_queued = max_queued
        self.queue: deque[CallRecord] = deque()
        self.dropped = dropped if dropped is not None else [0]
        self.wake = asyncio.Event()
        self._pruned_at = float("-inf")

    def record(self, call: CallRecord) -> None:
        """Queue one call (on the request path: no I/O)."""
        queue = self.queue
        if len(queue) >= self.max_queued:
            queue.popleft()
            self.dropped[0] += 1
        queue.append(call)
        if len(queue) >= BATCH_ROWS:
            self.wake.set()

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Write everything queued, `BATCH_ROWS` per transaction; how many were written. A
        batch that fails goes back to the front of the queue for the next round (the queue
        stays bounded: what no longer fits is dropped and counted)."""
        written = 0
        while self.queue:
            batch = [self.queue.popleft() for _ in range(min(BATCH_ROWS, len(self.queue)))]
            try:
                async with sessions() as session:
                    await store.insert_batch(session, [call.row() for call in batch])
                    await session.commit()
            except Exception:
                self.queue.extendleft(reversed(batch))
                while len(self.queue) > self.max_queued:
                    self.queue.popleft()
                    self.dropped[0] += 1
                raise
            written += len(batch)
        return written

    async def prune(
        self, sessions: async_sessionmaker[AsyncSession], retention_days: int, now: float
    ) -> int:
        """Delete the calls older than the retention time; how many went."""
        self._pruned_at = now
        cutoff = datetime.fromtimestamp(now, UTC) - timedelta(days=retention_days)
        async with sessions() as session:
            gone = await store.delete_before(session, cutoff)
            await session.commit()
        return gone

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        flush_seconds: float,
        retention_days: int,
        clock: Callable[[], float],
    ) -> None:
        """The background task: flush every `flush_seconds` (or when a batch is full), and
        delete old rows every PRUNE_EVERY_SECONDS. A failed round is logged and retried."""
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), flush_seconds)
            except TimeoutError:
                pass
            self.wake.clear()
            await self._round(self.flush(sessions), "tool-call-log-flush")
            now = clock()
            if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
                await self._round(self.prune(sessions, retention_days, now), "tool-call-log-prune")

    @staticmethod
    async def _round(work: Awaitable[int], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next round retries
            log.warning("background task failed", extra={"task": name}, exc_info=True)
