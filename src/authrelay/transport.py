"""The HTTP connection layer's defences against hostile clients (docs/configuration.md,
"Limits and timeouts").

uvicorn closes idle keep-alive connections, but nothing else: a client that sends half a
header, or trickles a body at two bytes a second, holds its connection (and a file
descriptor) for ever. `GuardedHttpProtocol` is uvicorn's httptools protocol with

- a cap on open connections: one more is answered 503 and closed at once, so a flood
  costs a file descriptor for microseconds instead of exhausting them;
- a cap on requests in flight: one more is answered 503 (JSON, `Retry-After: 1`);
- a cap on the size of the request line and headers (httptools has none): 431 and close;
- a header timeout (from the connection's start, or the request's first byte on a
  keep-alive connection, to the end of the headers), then 408 and close;
- a body timeout: idle time between body reads, and a total for the whole body, then 408
  and close. Time when the server itself is not reading (its buffer is full because the
  application is slow to consume, or it has not yet sent `100 Continue`) is not counted.

The deadlines are checked by one timer per worker process, every `tick` seconds, over the
open connections; a request pays a few attribute writes, not a timer of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from authrelay.observability import count_closed
from authrelay.request_body import TIMED_OUT
from authrelay_client.codes import Code

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from authrelay.config import Settings

log = logging.getLogger("authrelay.transport")

_IDLE, _HEADERS, _BODY = 0, 1, 2
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # HTTP/2's client preface (RFC 9113 3.4)
_FD_RESERVE = 256  # database pool, upstream keep-alive pool, logs, the listening socket


@dataclass(frozen=True)
class TransportLimits:
    header_timeout: float
    body_idle_timeout: float
    body_timeout: float
    max_connections: int
    max_requests_in_flight: int
    max_header_bytes: int = 65536
    keepalive_timeout: float = 5.0
    http2_max_concurrent_streams: int = 100
    http2_window_bytes: int = 1_048_576
    http2_max_reset_streams: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> TransportLimits:
        return cls(
            header_timeout=settings.header_timeout,
            body_idle_timeout=settings.body_idle_timeout,
            body_timeout=settings.body_timeout,
            max_connections=settings.max_connections,
            max_requests_in_flight=settings.max_requests_in_flight,
            max_header_bytes=settings.max_header_bytes,
            keepalive_timeout=settings.keepalive_timeout,
            http2_max_concurrent_streams=settings.http2_max_concurrent_streams,
            http2_window_bytes=settings.http2_window_bytes,
            http2_max_reset_streams=settings.http2_max_reset_streams,
        )

    @property
    def tick(self) -> float:
        """How often deadlines are checked: a quarter of the shortest timeout, at most 1 s."""
        return max(0.05, min(1.0, self.header_timeout / 4, self.body_idle_timeout / 4))


def _answer(status: HTTPStatus, code: Code, message: str, *extra: str) -> bytes:
    body = json.dumps({"code": int(code), "message": message, "details": []}).encode()
    head = [
        f"HTTP/1.1 {int(status)} {status.phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        *extra,
        "connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_TOO_MANY_CONNECTIONS = _answer(
    HTTPStatus.SERVICE_UNAVAILABLE,
    Code.UNAVAILABLE,
    "too many open connections; try again",
    "retry-after: 1",
)
_HEADER_TIMEOUT = _answer(
    HTTPStatus.REQUEST_TIMEOUT,
    Code.DEADLINE_EXCEEDED,
    "the request headers did not arrive in time",
)
_HEADERS_TOO_LARGE = _answer(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    Code.INVALID_ARGUMENT,
    "the request line and headers are too large",
)
_BODY_TIMEOUT = _answer(
    HTTPStatus.REQUEST_TIMEOUT,
    Code.DEADLINE_EXCEEDED,
    "the request body did not arrive in time",
)
_BUSY_BODY = json.dumps(
    {
        "code": int(Code.UNAVAILABLE),
        "message": "too many requests in flight; try again",
        "details": [],
    }
).encode()


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI app that answers a request over `max_requests_in_flight`."""
    await send(
        {
            "type": "http.response.start",
            "status": int(HTTPStatus.SERVICE_UNAVAILABLE),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_BUSY_BODY)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BUSY_BODY})


class _Watchdog:
    """One timer per worker: every `tick`, check each open connection's deadlines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any], tick: float):
        self.loop = loop
        self.connections = connections
        self.tick = tick
        self.handle: asyncio.TimerHandle | None = None
        self.now = loop.time()  # a coarse clock for the protocol: updated every tick

    def ensure(self) -> None:
        if self.handle is None:
            self.now = self.loop.time()
            self.handle = self.loop.call_later(self.tick, self.run)

    def run(self) -> None:
        self.handle = None
        self.now = now = self.loop.time()
        for connection in list(self.connections):
            check = getattr(connection, "check_deadlines", None)  # HTTP/1.1 and HTTP/2
            if check is not None:
                check(now, self.tick)
        if self.connections:
            self.ensure()


_base_data_received = HttpToolsProtocol.data_received
_base_message_begin = HttpToolsProtocol.on_message_begin
_base_headers_complete = HttpToolsProtocol.on_headers_complete
_base_body = HttpToolsProtocol.on_body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with connection caps and read timeouts (module doc)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: TransportLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.refused = False
        self.phase = _IDLE
        self.phase_start = 0.0
        self.last_read = 0.0
        self.paused_for = 0.0
        self.request_begun = False
        self.header_bytes = 0
        # A connection's first bytes go to `_first_data` (HTTP/2 or not), the rest straight
        # to the class's data_received: set before the transport caches the bound method.
        self.data_received = self._first_data  # type: ignore[method-assign]
        self.first_bytes = b""
        watchdog = getattr(server_state, "authrelay_watchdog", None)
        if watchdog is None:
            watchdog = _Watchdog(self.loop, self.connections, limits.tick)
            setattr(server_state, "authrelay_watchdog", watchdog)  # noqa: B010
        self.watchdog: _Watchdog = watchdog

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.refused = True
            count_closed("too_many_connections")
            transport.write(_TOO_MANY_CONNECTIONS)
            transport.close()
            return
        super().connection_made(transport)
        self.watchdog.ensure()
        self.phase = _HEADERS
        self.phase_start = self.loop.time()
        self.request_begun = False
        if self.scheme == "https":
            tls = transport.get_extra_info("ssl_object")
            if tls is not None and tls.selected_alpn_protocol() == "h2":
                self._to_http2(b"")

    def _first_data(self, data: bytes) -> None:
        """The connection's first bytes: the HTTP/2 client preface (h2c with prior
        knowledge) hands the connection to authrelay.http2; anything else is HTTP/1.1, and
        later bytes go straight to `data_received`."""
        if self.refused:
            return
        if self.first_bytes:
            data, self.first_bytes = self.first_bytes + data, b""
        if data[:24] == _PREFACE:
            self._to_http2(data)
            return
        if len(data) < 24 and _PREFACE.startswith(data):  # perhaps the preface: wait for more
            self.first_bytes = data
            return
        del self.data_received
        self.transport.set_protocol(self)  # uvloop caches the bound data_received
        self.data_received(data)

    def _to_http2(self, data: bytes) -> None:
        from authrelay.http2 import Http2Protocol

        self.phase = _IDLE
        self.connections.discard(self)
        protocol = Http2Protocol(self, _busy)
        self.transport.set_protocol(protocol)
        protocol.start(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        self.phase = _IDLE
        super().connection_lost(exc)

    # The parser callbacks below run for every request: they call the base class directly
    # (no super() object) and read the watchdog's clock (no clock call); the end of a body
    # is read from the cycle by the watchdog rather than tracked in on_message_complete.

    def data_received(self, data: bytes) -> None:
        _base_data_received(self, data)
        if self.phase == _HEADERS:  # the headers are still incomplete: all of it was head
            self.header_bytes += len(data)
            if (
                self.header_bytes > self.limits.max_header_bytes
                and self.request_begun
                and not self.transport.is_closing()
            ):
                count_closed("headers_too_large")
                self.phase = _IDLE
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        _base_message_begin(self)
        self.request_begun = True
        self.header_bytes = 0
        if self.phase != _HEADERS:  # a keep-alive connection's next request
            self.phase = _HEADERS
            self.phase_start = self.watchdog.now

    def on_headers_complete(self) -> None:
        if len(self.tasks) >= self.limits.max_requests_in_flight:
            count_closed("too_many_requests")
            app, self.app = self.app, _busy
            try:
                _base_headers_complete(self)
            finally:
                self.app = app
        else:
            _base_headers_complete(self)
        self.phase = _BODY
        self.phase_start = self.last_read = self.watchdog.now
        self.paused_for = 0.0
        self.request_begun = False

    def on_body(self, body: bytes) -> None:
        _base_body(self, body)
        self.last_read = self.watchdog.now

    def check_deadlines(self, now: float, tick: float) -> None:
        if self.phase == _HEADERS:
            previous = self.cycle
            if previous is not None and not previous.response_complete:
                # A pipelined request's first bytes came while the previous one is still
                # being answered: the server is the one busy, the clock starts afterwards.
                self.phase_start = now
            elif now - self.phase_start > self.limits.header_timeout:
                self._time_out()
        elif self.phase == _BODY:
            cycle = self.cycle
            if cycle is None or not cycle.more_body:  # the whole body has arrived
                self.phase = _IDLE
                return
            if self.flow.read_paused or cycle.waiting_for_100_continue:
                # The server is the one not reading: the client is not idle.
                self.paused_for += tick
                self.last_read = now
            elif now - self.last_read > self.limits.body_idle_timeout:
                self._time_out()
                return
            if now - self.phase_start - self.paused_for > self.limits.body_timeout:
                self._time_out()

    def _time_out(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        cycle = self.cycle
        if self.phase == _BODY and cycle is not None:
            count_closed("body_timeout")
            cycle.scope[TIMED_OUT] = True  # type: ignore[literal-required]
            if not cycle.response_started:
                transport.write(_BODY_TIMEOUT)
            cycle.keep_alive = False
            cycle.disconnected = True  # the application's next receive() is http.disconnect
            cycle.message_event.set()
        elif self.request_begun:
            count_closed("header_timeout")
            transport.write(_HEADER_TIMEOUT)
        else:  # connected and sent nothing at all
            count_closed("idle_timeout")
        self.phase = _IDLE
        transport.close()


def raise_open_file_limit(limits: TransportLimits) -> str | None:
    """Raise this process's soft limit on open files so the connection caps can be reached
    (worker processes inherit it). Returns a warning when the hard limit is too low."""
    wanted = limits.max_connections + limits.max_requests_in_flight + _FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        return (
            f"the open-file limit ({soft}) is below AUTHRELAY_MAX_CONNECTIONS + "
            f"AUTHRELAY_MAX_REQUESTS_IN_FLIGHT + {_FD_RESERVE} ({wanted}); lower those "
            "settings or raise the limit (ulimit -n, LimitNOFILE=)"
        )
    return None
