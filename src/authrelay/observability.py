"""Structured logs (one JSON object per line) and Prometheus metrics.

Log records never carry request bodies, query strings or headers, so credentials cannot
reach the log through them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from email.utils import formatdate
from json.encoder import encode_basestring_ascii as _quote  # the C encoder
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _Clock:
    """UTC timestamps to the second, formatted once per second."""

    second = -1
    text = ""

    @classmethod
    def stamp(cls, now: float) -> str:
        whole = int(now)
        if whole != cls.second:
            cls.second = whole
            cls.text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole))
        return cls.text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _Clock.stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key != "color_message":
                data[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and stack, never its message: messages can quote values
            # (a pydantic error quotes its input), and values can be credentials.
            data["error_type"] = record.exc_info[0].__qualname__
            data["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(data, default=str)


_direct_fd: int | None = None
_pending: list[str] = []
_flush_scheduled = False
_PIPE_BUF = 4096  # writes up to this size never interleave with other processes' lines


def _flush_lines() -> None:
    global _flush_scheduled
    _flush_scheduled = False
    if _direct_fd is None or not _pending:
        return
    chunk: list[str] = []
    size = 0
    for line in _pending:
        if size + len(line) > _PIPE_BUF and chunk:
            os.write(_direct_fd, "".join(chunk).encode())
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    os.write(_direct_fd, "".join(chunk).encode())
    _pending.clear()


def _json_value(value: Any) -> str:
    """One JSON value other than a string (`log_line` quotes those itself). Numbers, all a
    proxy line holds besides strings, are formatted directly: `json.dumps` builds an encoder
    per call, which cost more than the rest of the line."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)
    return json.dumps(value, default=str)


_heads: dict[tuple[str, str], str] = {}


def log_line(logger: logging.Logger, msg: str, fields: Mapping[str, object]) -> None:
    """One structured INFO line, cheaply: the proxy writes one per call, and going through
    `logging` costs ~30 µs where this costs about 3. When `configure_logging` set up the JSON
    handler on stderr, lines are queued and written at the end of the event loop's current
    round (whole lines, at most 4 KiB a write, so they never interleave with other workers');
    otherwise they go through `logging` as usual. Field names are identifiers chosen in the
    code and are written as they are; values are JSON-escaped."""
    global _flush_scheduled
    if not logger.isEnabledFor(logging.INFO):
        return
    if _direct_fd is None:
        logger.info(msg, extra=fields)
        return
    head = _heads.get((logger.name, msg))
    if head is None:
        head = _heads[logger.name, msg] = (
            f'"level": "info", "logger": {_quote(logger.name)}, "msg": {_quote(msg)}'
        )
    body = "".join(
        [
            f', "{key}": {_quote(value) if type(value) is str else _json_value(value)}'
            for key, value in fields.items()
        ]
    )
    _pending.append(f'{{"ts": "{_Clock.stamp(time.time())}", {head}{body}}}\n')
    if not _flush_scheduled:
        try:
            asyncio.get_running_loop().call_soon(_flush_lines)
            _flush_scheduled = True
        except RuntimeError:  # no loop: write now
            _flush_lines()


def configure_logging(level: str) -> None:
    global _direct_fd
    sys.stderr.flush()
    _direct_fd = sys.stderr.fileno()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


# Connections and requests the transport layer (authrelay.transport) cut off, by reason.
# Per process, counted without a lock; exported as authrelay_connections_closed_total.
CLOSED: dict[str, int] = {}


def count_closed(reason: str) -> None:
    CLOSED[reason] = CLOSED.get(reason, 0) + 1


class _ClosedCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "authrelay_connections_closed",
            "Connections closed or requests refused by the server's limits and timeouts",
            labels=["reason"],
        )
        for reason, count in sorted(CLOSED.items()):
            family.add_metric([reason], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "authrelay_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # Proxied calls are counted in a plain dict (the proxy's hot path takes no lock) and
        # turned into a Prometheus counter when /metrics is read.
        self.proxied: dict[int, int] = {}
        self.truncated = [0]  # upstream answers cut off before their body ended
        self.retries = [0]  # extra upstream attempts made under providers' retry policies
        self.registry.register(_ProxyCollector(self.proxied, self.truncated, self.retries))
        self.tool_call_logs_dropped = [0]  # tool calls not logged: the queue was full
        self.registry.register(_DroppedCollector(self.tool_call_logs_dropped))
        self.registry.register(_ClosedCollector())
        self.password_checks = Counter(
            "authrelay_dashboard_password_checks",
            "Argon2 password verifications run for dashboard sign-in attempts",
            registry=self.registry,
        )
        self.latency = Histogram(
            "authrelay_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route"],
            registry=self.registry,
        )

    def count_proxied(self, status: int) -> None:
        self.proxied[status] = self.proxied.get(status, 0) + 1

    def count_truncated(self) -> None:
        self.truncated[0] += 1

    def count_retries(self, n: int) -> None:
        self.retries[0] += n


class _DroppedCollector(Collector):
    """`authrelay_tool_call_logs_dropped_total`: tool calls whose log row was dropped because
    the queue of rows waiting to be written was full (tools/call_log.py)."""

    def __init__(self, dropped: list[int]) -> None:
        self.dropped = dropped

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "authrelay_tool_call_logs_dropped",
            "Tool calls left out of the tool-call log because its write queue was full",
            value=self.dropped[0],
        )


class _ProxyCollector(Collector):
    """`authrelay_proxy_requests_total{status}`, `authrelay_proxy_upstream_truncated_total` and
    `authrelay_proxy_upstream_retries_total` from the proxy's counts."""

    def __init__(self, counts: dict[int, int], truncated: list[int], retries: list[int]) -> None:
        self.counts = counts
        self.truncated = truncated
        self.retries = retries

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "authrelay_proxy_requests",
            "Proxied calls by the status answered to the caller",
            labels=["status"],
        )
        for status, count in sorted(self.counts.items()):
            family.add_metric([str(status)], count)
        yield family
        yield CounterMetricFamily(
            "authrelay_proxy_upstream_truncated",
            "Upstream answers that ended (or stalled past the read timeout) before their body "
            "was complete; the caller's response was cut off too",
            value=self.truncated[0],
        )
        yield CounterMetricFamily(
            "authrelay_proxy_upstream_retries",
            "Extra upstream attempts made under providers' retry policies",
            value=self.retries[0],
        )


access_log = logging.getLogger("authrelay.access")


class AccessLogMiddleware:
    """One log line and one metrics sample per request, labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"date", formatdate(usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    # A route whose path holds a credential (an MCP instance's URL) is
                    # logged by its template.
                    "path": template if getattr(route, "secret_path", False) else scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
