"""A raw HTTP/2 client over a socket (the `h2` library), for tests that need frames no
ordinary client sends: rapid resets, too many streams, stalled bodies, half-sent headers."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h2.config import H2Configuration
from h2.connection import ConnectionState, H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
)


@dataclass
class H2Response:
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    trailers: dict[bytes, bytes] = field(default_factory=dict)
    reset: int | None = None  # the RST_STREAM error code, when the stream was reset


class H2Client:
    def __init__(
        self,
        port: int,
        *,
        ca_file: Path | None = None,
        send_settings: bool = True,
        checked: bool = True,
    ) -> None:
        """`checked=False`: headers go out exactly as given (h2's outbound checks and
        normalisation off), for sending malformed requests."""
        sock = socket.create_connection(("127.0.0.1", port))
        sock.settimeout(30)  # a bound on the wait for the server, not a measurement
        if ca_file is not None:
            context = ssl.create_default_context(cafile=str(ca_file))
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock = sock
        self.conn = H2Connection(
            H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=checked,
                normalize_outbound_headers=checked,
            )
        )
        self.conn.initiate_connection()
        self.events: list[Event] = []
        self.closed = False
        if send_settings:
            self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        end: bool = True,
        flush: bool = True,
    ) -> int:
        """Open a stream; `end=False` leaves the request body open."""
        stream_id = self.conn.get_next_available_stream_id()
        fields = [
            (":method", method),
            (":path", path),
            (":scheme", "http"),
            (":authority", "127.0.0.1"),
            *(headers or []),
        ]
        self.conn.send_headers(stream_id, fields, end_stream=end and not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=end)
        if flush:
            self.flush()
        return stream_id

    def raw_request(self, fields: list[tuple[str, str]]) -> int:
        """Open a stream with exactly `fields` as its header block (pseudo-headers too)."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, fields, end_stream=True)
        self.flush()
        return stream_id

    def send_body(self, stream_id: int, data: bytes, end: bool = True) -> None:
        """Send `data` within the server's flow-control windows, waiting for them to open."""
        view = memoryview(data)
        while view:
            window = self.conn.local_flow_control_window(stream_id)
            if window <= 0:
                seen = len(self.events)
                self.read(lambda events: len(events) > seen)
                assert not self.closed, "the server closed the connection mid-body"
                continue
            size = min(window, len(view), self.conn.max_outbound_frame_size)
            self.conn.send_data(stream_id, bytes(view[:size]))
            view = view[size:]
            self.flush()
        if end:
            self.conn.end_stream(stream_id)
            self.flush()

    def read(self, until: Callable[[list[Event]], bool], timeout: float = 30) -> list[Event]:
        """Read events until `until(all events so far)` holds or the server closes."""
        deadline = time.monotonic() + timeout
        while not until(self.events) and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            except (ConnectionResetError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
                break
            for event in self.conn.receive_data(data):
                self.events.append(event)
                if isinstance(event, DataReceived) and event.stream_id:
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length or 0, event.stream_id
                    )
            try:
                self.flush()
            except OSError:
                self.closed = True
        return self.events

    def response(self, stream_id: int, timeout: float = 30) -> H2Response:
        def done(events: list[Event]) -> bool:
            return any(
                isinstance(e, StreamEnded | StreamReset) and e.stream_id == stream_id
                for e in events
            )

        answer = H2Response()
        for event in self.read(done, timeout):
            if getattr(event, "stream_id", None) != stream_id:
                continue
            if isinstance(event, ResponseReceived):
                answer.headers = dict(event.headers or [])
                answer.status = int(answer.headers[b":status"])
            elif isinstance(event, DataReceived):
                answer.body += event.data or b""
            elif isinstance(event, TrailersReceived):
                answer.trailers = dict(event.headers or [])
            elif isinstance(event, StreamReset):
                answer.reset = int(event.error_code or 0)
        return answer

    def goaway(self, timeout: float = 30) -> ConnectionTerminated | None:
        """The server's GOAWAY (waiting for it, or for the connection to close)."""

        def seen(events: list[Event]) -> bool:
            return any(isinstance(e, ConnectionTerminated) for e in events)

        for event in self.read(seen, timeout):
            if isinstance(event, ConnectionTerminated):
                return event
        return None

    def resume_after_goaway(self) -> None:
        """Go on with the streams a GOAWAY left open (RFC 9113 6.8 lets both sides finish
        the streams up to its last stream id; the `h2` library would refuse to)."""
        self.conn.state_machine.state = ConnectionState.CLIENT_OPEN

    def wait_closed(self, timeout: float = 30) -> bool:
        self.read(lambda _events: False, timeout)
        return self.closed

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
