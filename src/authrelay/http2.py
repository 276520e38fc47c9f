"""HTTP/2 on the server's one port, beside uvicorn's HTTP/1.1 (docs/configuration.md, "TLS
and HTTP/2").

`transport.GuardedHttpProtocol` looks at a connection once: the TLS handshake's ALPN answer
(`h2`) or the first bytes (the HTTP/2 client preface, h2c with prior knowledge) hand it to
`Http2Protocol`, which speaks HTTP/2 with the `h2` library and runs each stream as one ASGI
call of the same application. HTTP/1.1 connections never reach this module.

The limits of transport.py hold here too, per stream and per connection: the connection cap
(the same set of connections), the requests-in-flight cap (the same task set, 503 on the
stream), the header timeout (from the connection's start to its first request, and for any
header block left half sent), the body timeouts per stream (408 on the stream), and the idle
timeout (`keepalive_timeout` with no stream open: GOAWAY and close; PINGs are answered but
do not keep an idle connection open, and a connection with a stream open is never closed
for idleness). HTTP/2's own: at most `http2_max_concurrent_streams` streams at once
(advertised; one more is refused with REFUSED_STREAM, and a stream the client reset still
counts until its call has finished), flow-control windows of `http2_window_bytes` that
reopen only as the application reads, a header list of at most `max_header_bytes` (431 on the
stream; twice that is a connection error, as the compression state is then lost), at most
`http2_max_reset_streams` streams reset by the client or refused within 10 seconds (rapid
reset, CVE-2023-44487: GOAWAY ENHANCE_YOUR_CALM), and the `h2` library's own bound on
CONTINUATION frames per header block. A malformed request header block (RFC 9113 8.2
and 8.3: field names and values, connection-specific fields, pseudo-headers, host and
:authority) resets its stream with PROTOCOL_ERROR and counts as a reset; these checks are
done in `_scope`'s one pass instead of h2's, and h2 still checks content-length.

The ASGI scope has `http_version` "2" and the `http.response.trailers` extension: a response
started with `trailers: True` ends with the trailers message's HEADERS frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import FlowControlError, ProtocolError, StreamClosedError
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from authrelay.observability import count_closed
from authrelay.request_body import TIMED_OUT
from authrelay_client.codes import Code

if TYPE_CHECKING:
    from uvicorn.config import Config

log = logging.getLogger("authrelay.http2")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ALPN = ["h2", "http/1.1"]
RESET_WINDOW = 10.0  # seconds over which reset and refused streams are counted
# Headers HTTP/2 forbids (RFC 9113 8.2.2): dropped from the application's responses (and
# `te`, which only a request may carry). The application's header names are lowercased and
# its values stripped here, so h2's own checks of outbound headers (generators per header,
# a good share of a gRPC call's CPU) are switched off; inbound headers are still validated.
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te"}
)


def _outbound(headers: Any) -> list[tuple[bytes, bytes]]:
    """The application's headers as HTTP/2 sends them: lowercase names, no pseudo-header
    or connection-specific field, values without surrounding whitespace."""
    out = []
    for name, value in headers:
        lower = bytes(name).lower()
        if lower not in _HOP_BY_HOP and lower[:1] != b":":
            out.append((lower, bytes(value).strip()))
    return out


# RFC 9113 8.2.1: a field name holds none of 0x00-0x20, A-Z, 0x7f-0xff and (but for a
# pseudo-header's leading one) no colon; a value no NUL, CR or LF, and no space or tab at
# either end. 8.2.2: no connection-specific field, and `te` only as "trailers".
_BAD_NAME = re.compile(rb"[^\x21-\x39\x3b-\x40\x5b-\x7e]")
_BAD_VALUE = re.compile(rb"[\x00\r\n]|\A[ \t]|[ \t]\Z")
_CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)

_UNLIMITED_STREAMS = 2**31 - 1


def alpn_ssl_context(config: Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's `ssl_context_factory`: its TLS context, offering `h2` and `http/1.1`."""
    context = default()
    context.set_alpn_protocols(ALPN)
    return context


def _error_body(code: Code, message: str) -> bytes:
    return json.dumps({"code": int(code), "message": message, "details": []}).encode()


_ANSWERS = {
    HTTPStatus.REQUEST_TIMEOUT: _error_body(
        Code.DEADLINE_EXCEEDED, "the request body did not arrive in time"
    ),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: _error_body(
        Code.INVALID_ARGUMENT, "the request headers are too large"
    ),
    HTTPStatus.INTERNAL_SERVER_ERROR: _error_body(Code.INTERNAL, "internal error"),
    HTTPStatus.BAD_REQUEST: _error_body(Code.INVALID_ARGUMENT, "malformed request"),
}


class Limits(Protocol):
    """What this module reads of `transport.TransportLimits`."""

    @property
    def header_timeout(self) -> float: ...
    @property
    def body_idle_timeout(self) -> float: ...
    @property
    def body_timeout(self) -> float: ...
    @property
    def keepalive_timeout(self) -> float: ...
    @property
    def max_requests_in_flight(self) -> int: ...
    @property
    def max_header_bytes(self) -> int: ...
    @property
    def http2_max_concurrent_streams(self) -> int: ...
    @property
    def http2_window_bytes(self) -> int: ...
    @property
    def http2_max_reset_streams(self) -> int: ...


class Clock(Protocol):
    """The transport's watchdog: a coarse clock, updated every tick."""

    now: float


class _Stream:
    """One request: its scope, the body read so far, and where its answer stands."""

    __slots__ = (
        "body",
        "body_size",
        "delivered_end",
        "disconnected",
        "ended",
        "event",
        "expect_continue",
        "head",
        "id",
        "last_read",
        "paused_for",
        "response_complete",
        "response_started",
        "scope",
        "started",
        "trailer_headers",
        "trailers",
        "window",
    )

    def __init__(self, stream_id: int, scope: dict[str, Any], now: float) -> None:
        self.id = stream_id
        self.scope = scope
        self.body: deque[bytes] = deque()
        self.body_size = 0  # flow-controlled bytes buffered, not yet read by the application
        self.ended = False  # the client's END_STREAM arrived
        self.delivered_end = False  # the application was given more_body False
        self.disconnected = False  # reset, timed out or the connection is gone
        self.event = asyncio.Event()  # body, end or disconnect
        self.window = asyncio.Event()  # the send window may have grown
        self.started = self.last_read = now
        self.paused_for = 0.0
        self.response_started = False
        self.response_complete = False
        self.trailers = False
        self.trailer_headers: list[tuple[bytes, bytes]] = []
        self.head = False
        self.expect_continue = False

    def wake(self) -> None:
        self.event.set()
        self.window.set()


class Http2Protocol(asyncio.Protocol):
    """One HTTP/2 connection, taken over from `GuardedHttpProtocol` (module doc)."""

    def __init__(self, origin: Any, busy: Any) -> None:
        """`origin`: the `transport.GuardedHttpProtocol` handing over its connection;
        `busy`: the ASGI app that answers a request over the in-flight cap."""
        self.busy = busy
        self.config = origin.config
        self.app = origin.app
        self.app_state = origin.app_state
        self.server_state = origin.server_state
        self.connections = origin.connections
        self.tasks = origin.tasks
        self.loop = origin.loop
        self.limits: Limits = origin.limits
        self.watchdog: Clock = origin.watchdog
        self.transport: asyncio.Transport = origin.transport
        self.scheme = origin.scheme or "http"
        self.server = origin.server
        self.client = origin.client
        self.root_path = origin.root_path
        self.streams: dict[int, _Stream] = {}
        self.closing = False  # GOAWAY sent: no new streams
        self.closed = False
        self.seen_request = False
        self.opened = self.idle_since = self.loop.time()
        self.header_pending_since = 0.0
        self.resets = 0
        self.resets_since = self.opened
        self.write_paused: asyncio.Future[None] | None = None
        self.write_scheduled = False
        limits = self.limits
        self.h2 = H2Connection(
            H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_outbound_headers=False,  # _outbound() does what matters of it
                normalize_outbound_headers=False,
                validate_inbound_headers=False,  # _scope() checks them (RFC 9113 8.2, 8.3)
                normalize_inbound_headers=False,
            )
        )
        advertised = {
            SettingCodes.MAX_CONCURRENT_STREAMS: limits.http2_max_concurrent_streams,
            SettingCodes.INITIAL_WINDOW_SIZE: limits.http2_window_bytes,
            SettingCodes.MAX_HEADER_LIST_SIZE: limits.max_header_bytes,
        }
        self.h2.local_settings = Settings(client=False, initial_values=advertised)
        self.h2.initiate_connection()
        # The stream cap is enforced here, with REFUSED_STREAM (h2 itself would end the
        # connection); the header-list cap likewise, with 431 below twice the setting.
        advertised[SettingCodes.MAX_CONCURRENT_STREAMS] = _UNLIMITED_STREAMS
        self.h2.local_settings = Settings(client=False, initial_values=advertised)
        self.h2.decoder.max_header_list_size = 2 * limits.max_header_bytes
        if limits.http2_window_bytes > 65535:
            self.h2.increment_flow_control_window(limits.http2_window_bytes - 65535)

    def start(self, data: bytes) -> None:
        """Take over the transport: send our SETTINGS, then read what already arrived."""
        self.connections.add(self)
        self._flush()
        if data:
            self.data_received(data)

    # ------------------------------------------------------------------ asyncio protocol

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            events = self.h2.receive_data(data)
        except ProtocolError as exc:
            count_closed("http2_protocol_error")
            log.debug("HTTP/2 protocol error from %s: %s", self.client, exc)
            self._flush()
            self._close()
            return
        for event in events:
            if isinstance(event, DataReceived):
                self._on_data(event)
            elif isinstance(event, RequestReceived):
                self._on_request(event)
            elif isinstance(event, StreamEnded):
                stream = self.streams.get(event.stream_id or 0)
                if stream is not None:
                    stream.ended = True
                    stream.event.set()
            elif isinstance(event, StreamReset):
                self._on_reset(event)
            elif isinstance(event, WindowUpdated):
                self._on_window(event.stream_id or 0)
            elif isinstance(event, RemoteSettingsChanged):
                if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                    self._on_window(0)
            elif isinstance(event, ConnectionTerminated):
                self.closing = True
                if not self.streams:
                    self._close()
            if self.closed:
                return
        # A header block split over CONTINUATION frames holds the whole connection.
        if self.h2.incoming_buffer._headers_buffer:
            if not self.header_pending_since:
                self.header_pending_since = self.watchdog.now
        else:
            self.header_pending_since = 0.0
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        for stream in self.streams.values():
            stream.disconnected = True
            stream.wake()
        self._resume()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        if self.write_paused is None:
            self.write_paused = self.loop.create_future()

    def resume_writing(self) -> None:
        self._resume()

    def _resume(self) -> None:
        paused, self.write_paused = self.write_paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: GOAWAY now, close once the open streams are done."""
        if self.closing or self.closed:
            if not self.streams:
                self._close()
            return
        self.closing = True
        self._write_out()
        # Written with hyperframe rather than h2's close_connection(), which would make h2
        # refuse the open streams' remaining DATA frames.
        goaway = GoAwayFrame(
            stream_id=0,
            last_stream_id=self.h2.highest_inbound_stream_id,
            error_code=ErrorCodes.NO_ERROR,
        )
        self.transport.write(goaway.serialize())
        if not self.streams:
            self._close()

    # ------------------------------------------------------------------ events

    def _on_request(self, event: RequestReceived) -> None:
        stream_id = event.stream_id or 0
        now = self.watchdog.now
        self.seen_request = True
        if self.closing:
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        if len(self.streams) >= self.limits.http2_max_concurrent_streams:
            count_closed("http2_refused_stream")
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            self._count_reset(now)
            return
        scope = self._scope(event.headers or [])
        if scope is _MALFORMED:  # RFC 9113 8.1.1: a stream error of type PROTOCOL_ERROR
            count_closed("http2_malformed")
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            self._count_reset(now)
            return
        if scope is None:
            self._answer(stream_id, HTTPStatus.BAD_REQUEST)
            return
        if scope is _TOO_LARGE:
            count_closed("headers_too_large")
            self._answer(stream_id, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            return
        stream = _Stream(stream_id, scope, now)
        stream.head = scope["method"] == "HEAD"
        for name, value in scope["headers"]:
            if name == b"expect" and value.lower() == b"100-continue":
                stream.expect_continue = True
        app = self.app
        if len(self.tasks) >= self.limits.max_requests_in_flight:
            count_closed("too_many_requests")
            app = self.busy
        self.streams[stream_id] = stream
        self.server_state.total_requests += 1
        task = self.loop.create_task(self._run(stream, app))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _scope(self, headers: Any) -> dict[str, Any] | None:
        """The ASGI scope of a request's header block; `_MALFORMED` for a block RFC 9113
        8.2 and 8.3 call malformed (checked here in one pass: h2's own inbound checks, a
        chain of generators per header, are off), `_TOO_LARGE` over the header-list cap,
        None for a request this server does not take (CONNECT, a non-ASCII path)."""
        method = path = scheme = authority = host = None
        regular = False
        fields: list[tuple[bytes, bytes]] = []
        cookies: list[bytes] = []
        size = 0
        for name, value in headers:
            size += len(name) + len(value) + 32
            if value and _BAD_VALUE.search(value) is not None:
                return _MALFORMED
            if name[:1] == b":":
                if regular:  # pseudo-header fields come first
                    return _MALFORMED
                if name == b":method" and method is None:
                    method = value
                elif name == b":path" and path is None:
                    path = value
                elif name == b":scheme" and scheme is None:
                    scheme = value
                elif name == b":authority" and authority is None:
                    authority = value
                else:  # repeated, unknown, or a response's (:status) or CONNECT's (:protocol)
                    return _MALFORMED
                continue
            regular = True
            if not name or _BAD_NAME.search(name) is not None or name in _CONNECTION_SPECIFIC:
                return _MALFORMED
            if name == b"cookie":
                cookies.append(value)
                continue
            if name == b"host":
                if host is not None:
                    return _MALFORMED
                host = value
            elif name == b"te" and value.lower() != b"trailers":
                return _MALFORMED
            fields.append((name, value))
        if method is None:
            return _MALFORMED
        if method == b"CONNECT":  # not served (and its pseudo-header rules differ)
            return None
        if path is None or scheme is None or not path:
            return _MALFORMED
        if authority is None and host is None:
            return _MALFORMED
        if authority is not None and host is not None and authority != host:
            return _MALFORMED
        if size > self.limits.max_header_bytes:
            return _TOO_LARGE
        if cookies:  # RFC 9113 8.2.3: one header again for HTTP/1.1-minded applications
            fields.append((b"cookie", b"; ".join(cookies)))
        if authority and host is None:
            fields.insert(0, (b"host", authority))
        raw_path, _, query = path.partition(b"?")
        try:
            text_path = raw_path.decode("ascii")
            text_method = method.decode("ascii")
        except UnicodeDecodeError:
            return None
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "2",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": text_method,
            "root_path": self.root_path,
            "path": unquote(text_path) if "%" in text_path else text_path,
            "raw_path": raw_path,
            "query_string": query,
            "headers": fields,
            "state": self.app_state.copy(),
            "extensions": {"http.response.trailers": {}},
        }

    def _on_data(self, event: DataReceived) -> None:
        stream_id = event.stream_id or 0
        length = event.flow_controlled_length or 0
        stream = self.streams.get(stream_id)
        if stream is None or stream.disconnected:  # refused, answered or reset: give it back
            self._acknowledge(length, stream_id)
            return
        stream.body.append(event.data or b"")
        stream.body_size += length
        stream.last_read = self.watchdog.now
        stream.event.set()

    def _on_reset(self, event: StreamReset) -> None:
        stream = self.streams.get(event.stream_id or 0)
        if stream is None:
            return
        stream.disconnected = True
        stream.wake()
        if event.remote_reset and not stream.response_complete:
            self._count_reset(self.watchdog.now)

    def _count_reset(self, now: float) -> None:
        if now - self.resets_since > RESET_WINDOW:
            self.resets_since, self.resets = now, 0
        self.resets += 1
        if self.resets > self.limits.http2_max_reset_streams:
            count_closed("http2_rapid_reset")
            self._terminate(ErrorCodes.ENHANCE_YOUR_CALM)

    def _on_window(self, stream_id: int) -> None:
        if stream_id == 0:
            for stream in self.streams.values():
                stream.window.set()
        else:
            one = self.streams.get(stream_id)
            if one is not None:
                one.window.set()

    # ------------------------------------------------------------------ the ASGI call

    async def _run(self, stream: _Stream, app: Any) -> None:
        async def receive() -> dict[str, Any]:
            return await self._receive(stream)

        async def send(message: dict[str, Any]) -> None:
            await self._send(stream, message)

        try:
            await app(stream.scope, receive, send)
        except Exception:
            log.exception("exception in the ASGI application (HTTP/2)")
            if not stream.disconnected and not stream.response_started:
                self._answer(stream.id, HTTPStatus.INTERNAL_SERVER_ERROR)
                stream.response_started = stream.response_complete = True
        finally:
            if not stream.response_complete and not stream.disconnected:
                if stream.response_started:  # an answer cut short
                    self._reset(stream.id, ErrorCodes.INTERNAL_ERROR)
                else:
                    log.error("ASGI application returned without a response (HTTP/2)")
                    self._answer(stream.id, HTTPStatus.INTERNAL_SERVER_ERROR)
            self._stream_done(stream)

    def _stream_done(self, stream: _Stream) -> None:
        stream.response_complete = True
        stream.wake()
        self.streams.pop(stream.id, None)
        if not stream.ended and not stream.disconnected:
            # Answered before the whole body came: the client may stop sending
            # (RFC 9113 8.1); what is still in flight is given back to the window below.
            self._reset(stream.id, ErrorCodes.NO_ERROR)
        if stream.body_size:
            self._acknowledge(stream.body_size, stream.id)
            stream.body_size = 0
        if not self.streams:
            self.idle_since = self.watchdog.now
            if self.closing:
                self._close()
                return
        self._flush()

    async def _receive(self, stream: _Stream) -> dict[str, Any]:
        if stream.expect_continue:
            stream.expect_continue = False
            if not stream.response_started and not stream.disconnected:
                self._send_headers(stream.id, [(b":status", b"100")], end_stream=False)
                self._flush()
        while not stream.body and not stream.ended and not stream.disconnected:
            stream.event.clear()
            await stream.event.wait()
        if stream.disconnected:
            return {"type": "http.disconnect"}
        if stream.body:
            body = stream.body.popleft() if len(stream.body) == 1 else b"".join(stream.body)
            stream.body.clear()
            size, stream.body_size = stream.body_size, 0
            self._acknowledge(size, stream.id)
            self._flush()
            more = not stream.ended
            stream.delivered_end = not more
            return {"type": "http.request", "body": body, "more_body": more}
        if not stream.delivered_end:
            stream.delivered_end = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while not stream.disconnected and not stream.response_complete:
            stream.event.clear()
            await stream.event.wait()
        return {"type": "http.disconnect"}

    async def _send(self, stream: _Stream, message: dict[str, Any]) -> None:
        if stream.disconnected or self.closed:
            return
        kind = message["type"]
        if not stream.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected http.response.start, got {kind!r}")
            stream.response_started = True
            stream.trailers = bool(message.get("trailers", False))
            headers = [(b":status", str(int(message["status"])).encode())]
            headers += _outbound(message.get("headers", ()))
            headers.extend(self.server_state.default_headers)
            self._send_headers(stream.id, headers, end_stream=False)
            self._flush()
        elif stream.response_complete:
            raise RuntimeError(f"{kind!r} after the response was complete")
        elif kind == "http.response.body":
            more = bool(message.get("more_body", False))
            body = b"" if stream.head else bytes(message.get("body", b""))
            end = not more and not stream.trailers
            await self._send_data(stream, body, end)
            if end:
                stream.response_complete = True
                stream.event.set()
        elif kind == "http.response.trailers" and stream.trailers:
            stream.trailer_headers += _outbound(message.get("headers", ()))
            if not message.get("more_trailers", False):
                self._send_headers(stream.id, stream.trailer_headers, end_stream=True)
                self._flush()
                stream.response_complete = True
                stream.event.set()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    async def _send_data(self, stream: _Stream, body: bytes, end: bool) -> None:
        view = memoryview(body)
        while True:
            if stream.disconnected or self.closed:
                return
            if not view:
                if end:
                    self._send_chunk(stream, b"", True)
                    self._flush()
                return
            try:
                window = self.h2.local_flow_control_window(stream.id)
            except (StreamClosedError, ProtocolError):
                stream.disconnected = True
                return
            if window <= 0:
                stream.window.clear()
                await stream.window.wait()
                continue
            size = min(window, len(view), self.h2.max_outbound_frame_size)
            chunk, view = view[:size], view[size:]
            self._send_chunk(stream, bytes(chunk), end and not view)
            if view:  # more to come: written now, so that pause_writing can hold it back
                self._write_out()
            else:
                self._flush()
            if self.write_paused is not None:
                await self.write_paused

    def _send_chunk(self, stream: _Stream, data: bytes, end: bool) -> None:
        try:
            self.h2.send_data(stream.id, data, end_stream=end)
        except (StreamClosedError, ProtocolError, FlowControlError):
            stream.disconnected = True

    # ------------------------------------------------------------------ deadlines

    def check_deadlines(self, now: float, tick: float) -> None:
        """Called by transport's watchdog every `tick` (module doc)."""
        if self.closed:
            return
        limits = self.limits
        if self.header_pending_since and now - self.header_pending_since > limits.header_timeout:
            count_closed("header_timeout")
            self._terminate(ErrorCodes.NO_ERROR)
            return
        if not self.streams:
            if not self.seen_request:
                if now - self.opened > limits.header_timeout:
                    count_closed("idle_timeout")
                    self._terminate(ErrorCodes.NO_ERROR)
            elif now - self.idle_since > limits.keepalive_timeout:
                self._terminate(ErrorCodes.NO_ERROR)
            return
        for stream in list(self.streams.values()):
            if stream.ended or stream.disconnected:
                continue
            if stream.body:  # the application is not reading: the client is not idle
                stream.paused_for += tick
                stream.last_read = now
            elif now - stream.last_read > limits.body_idle_timeout:
                self._time_out(stream)
                continue
            if now - stream.started - stream.paused_for > limits.body_timeout:
                self._time_out(stream)

    def _time_out(self, stream: _Stream) -> None:
        count_closed("body_timeout")
        stream.scope[TIMED_OUT] = True
        if not stream.response_started:
            self._answer(stream.id, HTTPStatus.REQUEST_TIMEOUT)
            stream.response_started = stream.response_complete = True
        self._reset(stream.id, ErrorCodes.NO_ERROR)
        stream.disconnected = True
        stream.wake()
        self._flush()

    # ------------------------------------------------------------------ writing

    def _answer(self, stream_id: int, status: HTTPStatus) -> None:
        """A JSON error answer of our own on the stream."""
        body = _ANSWERS[status]
        headers = [
            (b":status", str(int(status)).encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        try:
            self.h2.send_headers(stream_id, headers, end_stream=False)
            self.h2.send_data(stream_id, body, end_stream=True)
        except (StreamClosedError, ProtocolError, FlowControlError):
            return
        self._flush()

    def _send_headers(
        self, stream_id: int, headers: list[tuple[bytes, bytes]], end_stream: bool
    ) -> None:
        try:
            self.h2.send_headers(stream_id, headers, end_stream=end_stream)
        except (StreamClosedError, ProtocolError) as exc:
            stream = self.streams.get(stream_id)
            if stream is not None:
                stream.disconnected = True
            log.debug("HTTP/2 headers not sent on stream %s: %s", stream_id, exc)

    def _reset(self, stream_id: int, code: ErrorCodes) -> None:
        try:
            self.h2.reset_stream(stream_id, code)
        except (StreamClosedError, ProtocolError):
            return
        self._flush()

    def _acknowledge(self, size: int, stream_id: int) -> None:
        if size:
            try:
                self.h2.acknowledge_received_data(size, stream_id)
            except (StreamClosedError, ProtocolError):
                return

    def _flush(self) -> None:
        """Write what h2 has to send once this event-loop iteration is done: the headers,
        message and trailers of an answer, the window updates and the answers of every
        stream that ran meanwhile go out in one write (one system call) instead of one each.
        """
        if not self.write_scheduled and not self.closed:
            self.write_scheduled = True
            self.loop.call_soon(self._write_out)

    def _write_out(self) -> None:
        self.write_scheduled = False
        data = self.h2.data_to_send()
        if data and not self.closed:
            self.transport.write(data)

    def _terminate(self, code: ErrorCodes) -> None:
        """GOAWAY with `code` and close now; open streams see a disconnect."""
        try:
            self.h2.close_connection(code, last_stream_id=self.h2.highest_inbound_stream_id)
        except ProtocolError:
            pass
        self._flush()
        self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self._write_out()
        self.closed = True
        self.transport.close()
        for stream in self.streams.values():
            stream.disconnected = True
            stream.wake()


_TOO_LARGE: dict[str, Any] = {}
_MALFORMED: dict[str, Any] = {}
