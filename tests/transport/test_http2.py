"""HTTP/2 with prior knowledge (h2c) on the server's one port, beside HTTP/1.1: curl against
REST routes, and the limits of the HTTP layer per stream and per connection with a raw
HTTP/2 client (rapid reset, too many streams, oversized headers, slow bodies, idle
connections, half-sent headers, graceful shutdown)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from h2.errors import ErrorCodes
from h2.events import PingAckReceived, SettingsAcknowledged
from hpack import Encoder
from hyperframe.frame import HeadersFrame

from authrelay.http2 import PREFACE
from tests.conftest import ONE_BACKEND
from tests.support.h2client import H2Client
from tests.support.servers import Server, start_server

# The limits are the HTTP layer's, before any request reaches the store: one backend is
# enough, and several tests wait seconds for a timeout.
pytestmark = ONE_BACKEND

LIMITS = {
    "AUTHRELAY_HEADER_TIMEOUT": "2",
    "AUTHRELAY_BODY_IDLE_TIMEOUT": "2",
    "AUTHRELAY_BODY_TIMEOUT": "6",
    "AUTHRELAY_KEEPALIVE_TIMEOUT": "2",
    "AUTHRELAY_MAX_CONNECTIONS": "50",
    "AUTHRELAY_MAX_REQUESTS_IN_FLIGHT": "5",
    "AUTHRELAY_MAX_HEADER_BYTES": "4096",
    "AUTHRELAY_HTTP2_MAX_CONCURRENT_STREAMS": "4",
    "AUTHRELAY_HTTP2_MAX_RESET_STREAMS": "20",
}
FORM = [("content-type", "application/x-www-form-urlencoded"), ("content-length", "100")]


@pytest.fixture(scope="module")
def guarded(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(server.backend, tmp_path_factory.mktemp("guarded-h2"), **LIMITS)
    yield srv
    srv.stop()


def _curl(*args: str) -> tuple[str, str]:
    """(body, HTTP version) of a curl call."""
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-w", "\n%{http_version}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    body, _, version = done.stdout.rpartition("\n")
    return body, version


def _closed_count(server: Server, reason: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(f'authrelay_connections_closed_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_curl_with_prior_knowledge_reaches_rest_routes(
    server: Server, dev_client: dict[str, str]
) -> None:
    body, version = _curl("--http2-prior-knowledge", f"{server.url}/healthz")
    assert (json.loads(body), version) == ({"status": "ok"}, "2")
    token = server.token(dev_client)
    body, version = _curl(
        "--http2-prior-knowledge",
        "-H",
        f"Authorization: Bearer {token}",
        f"{server.url}/api/v1/providers?page_size=2",
    )
    assert version == "2"
    assert len(json.loads(body)["providers"]) == 2
    body, version = _curl("--http2-prior-knowledge", f"{server.url}/api/v1/providers")
    assert (json.loads(body)["code"], version) == (16, "2")  # UNAUTHENTICATED, on HTTP/2 too
    body, version = _curl(f"{server.url}/healthz")  # HTTP/1.1 on the same port
    assert (json.loads(body), version) == ({"status": "ok"}, "1.1")


def test_a_post_body_streams_to_the_application(server: Server, dev_client: dict[str, str]) -> None:
    form = (
        f"grant_type=client_credentials&client_id={dev_client['client_id']}"
        f"&client_secret={dev_client['client_secret']}"
    ).encode()
    with H2Client(server.port) as client:
        # The body in three DATA frames, each read as it comes.
        stream = client.request(
            "/oauth/token",
            "POST",
            [("content-type", "application/x-www-form-urlencoded")],
            end=False,
        )
        for part in (form[:10], form[10:40], form[40:]):
            client.conn.send_data(stream, part)
            client.flush()
        client.conn.end_stream(stream)
        client.flush()
        answer = client.response(stream)
        assert answer.status == 200, answer.body
        assert json.loads(answer.body)["token_type"].lower() == "bearer"
        # The same connection carries the next request.
        again = client.response(client.request("/healthz"))
        assert again.status == 200


def test_streams_beyond_the_advertised_maximum_are_refused(guarded: Server) -> None:
    before = _closed_count(guarded, "http2_refused_stream")
    # Five streams sent before the server's SETTINGS are read: the fifth is refused, the
    # connection stays up.
    with H2Client(guarded.port) as client:
        streams = [
            client.request("/oauth/token", "POST", FORM, end=False, flush=False) for _ in range(5)
        ]
        client.flush()
        refused = client.response(streams[4])
        assert refused.reset == ErrorCodes.REFUSED_STREAM
        assert not client.closed
    assert _closed_count(guarded, "http2_refused_stream") == before + 1


def test_rapid_reset_ends_the_connection(guarded: Server) -> None:
    before = _closed_count(guarded, "http2_rapid_reset")
    with H2Client(guarded.port) as client:
        for _ in range(30):  # the limit is 20 resets within 10 s
            stream = client.request("/oauth/token", "POST", FORM, end=False, flush=False)
            client.conn.reset_stream(stream, ErrorCodes.CANCEL)
        client.flush()
        goaway = client.goaway()
        assert goaway is not None and goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
        assert client.wait_closed()
    assert _closed_count(guarded, "http2_rapid_reset") == before + 1
    assert httpx.get(f"{guarded.url}/healthz").status_code == 200


def test_oversized_headers_get_431_on_the_stream(guarded: Server) -> None:
    with H2Client(guarded.port) as client:
        big = client.response(client.request("/healthz", headers=[("x-big", "a" * 5000)]))
        assert big.status == 431
        assert json.loads(big.body)["code"] == 3  # INVALID_ARGUMENT
        # The connection is still usable.
        assert client.response(client.request("/healthz")).status == 200


_GOOD = [(":method", "GET"), (":scheme", "http"), (":path", "/healthz"), (":authority", "x")]


def _but(*changes: tuple[str, str | None], extra: list[tuple[str, str]] | None = None) -> list:
    """`_GOOD` with each named pseudo-header replaced (None: removed), then `extra`."""
    fields = [(n, dict(changes).get(n, v)) for n, v in _GOOD if dict(changes).get(n, v) is not None]
    return fields + (extra or [])


# RFC 9113 8.2 and 8.3: each of these header blocks is malformed (h2's inbound checks are
# off on the server; http2._scope does them in one pass).
MALFORMED = {
    "uppercase name": _but(extra=[("X-Upper", "1")]),
    "space in a name": _but(extra=[("x bad", "1")]),
    "colon inside a name": _but(extra=[("x:y", "1")]),
    "non-ASCII name": _but(extra=[("x-\u00e9", "1")]),
    "empty name": _but(extra=[("", "1")]),
    "NUL in a value": _but(extra=[("x-v", "a\x00b")]),
    "LF in a value": _but(extra=[("x-v", "a\nb")]),
    "CR in a value": _but(extra=[("x-v", "a\rb")]),
    "leading space in a value": _but(extra=[("x-v", " a")]),
    "trailing tab in a value": _but(extra=[("x-v", "a\t")]),
    "connection": _but(extra=[("connection", "close")]),
    "keep-alive": _but(extra=[("keep-alive", "5")]),
    "proxy-connection": _but(extra=[("proxy-connection", "x")]),
    "transfer-encoding": _but(extra=[("transfer-encoding", "chunked")]),
    "upgrade": _but(extra=[("upgrade", "h2c")]),
    "te other than trailers": _but(extra=[("te", "gzip")]),
    "pseudo-header after a regular one": [*_GOOD[:3], ("x-a", "1"), _GOOD[3]],
    "repeated :path": [*_GOOD[:3], (":path", "/other"), _GOOD[3]],
    "unknown pseudo-header": [(":custom", "1"), *_GOOD],
    ":status in a request": [(":status", "200"), *_GOOD],
    ":protocol outside CONNECT": [(":protocol", "websocket"), *_GOOD],
    "no :method": _but((":method", None)),
    "no :scheme": _but((":scheme", None)),
    "no :path": _but((":path", None)),
    "empty :path": _but((":path", "")),
    "neither :authority nor host": _but((":authority", None)),
    "host differing from :authority": _but(extra=[("host", "y")]),
    "two host fields": _but((":authority", None), extra=[("host", "x"), ("host", "x")]),
}


@pytest.mark.parametrize("fields", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_header_blocks_are_refused_on_their_stream(
    guarded: Server, fields: list[tuple[str, str]]
) -> None:
    with H2Client(guarded.port, checked=False) as client:
        refused = client.response(client.raw_request(fields))
        assert refused.reset == ErrorCodes.PROTOCOL_ERROR
        assert refused.status == 0  # nothing reached the application
        # The connection stays up, and a well-formed request on it is answered.
        assert client.response(client.request("/healthz")).status == 200


def test_well_formed_edge_cases_are_accepted(guarded: Server) -> None:
    with H2Client(guarded.port, checked=False) as client:
        for fields in (
            _but(extra=[("te", "trailers")]),
            _but(extra=[("host", "x")]),  # host equal to :authority
            _but((":authority", None), extra=[("host", "x")]),
            _but(extra=[("x-empty", ""), ("cookie", "a=1"), ("cookie", "b=2")]),
        ):
            assert client.response(client.raw_request(fields)).status == 200, fields


def test_a_body_longer_than_its_content_length_is_refused(guarded: Server) -> None:
    with H2Client(guarded.port, checked=False) as client:
        stream = client.request(
            "/oauth/token", "POST", [("content-length", "3")], body=b"abcdef", end=True
        )
        answer = client.response(stream)
        # h2 checks content-length itself (a connection error): nothing was answered.
        assert answer.status == 0
        assert client.wait_closed()


def test_far_too_large_headers_end_the_connection(guarded: Server) -> None:
    with H2Client(guarded.port) as client:
        client.request("/healthz", headers=[("x-big", "a" * 9000)])
        goaway = client.goaway()
        assert goaway is not None
        assert client.wait_closed()


def test_a_stalled_body_gets_408_on_its_stream(guarded: Server) -> None:
    before = _closed_count(guarded, "body_timeout")
    with H2Client(guarded.port) as client:
        stream = client.request("/oauth/token", "POST", FORM, body=b"grant_type=", end=False)
        answer = client.response(stream)
        assert answer.status == 408
        assert json.loads(answer.body)["code"] == 4  # DEADLINE_EXCEEDED
        # Only the stream is ended: the connection serves the next request.
        assert client.response(client.request("/healthz")).status == 200
    assert _closed_count(guarded, "body_timeout") >= before + 1


def test_a_trickled_body_hits_the_total_body_timeout(guarded: Server) -> None:
    before = _closed_count(guarded, "body_timeout")
    with H2Client(guarded.port) as client:
        stream = client.request("/oauth/token", "POST", FORM, end=False)
        started = time.monotonic()
        answer = None
        while time.monotonic() - started < 20:
            client.conn.send_data(stream, b"a")
            client.flush()
            client.read(lambda events: False, timeout=1)
            answer = client.response(stream, timeout=0.01)
            if answer.status or answer.reset is not None:
                break
        assert answer is not None and answer.status == 408
        assert json.loads(answer.body)["code"] == 4  # DEADLINE_EXCEEDED
    assert _closed_count(guarded, "body_timeout") >= before + 1


def test_a_connection_that_sends_no_request_is_closed(guarded: Server) -> None:
    before = _closed_count(guarded, "idle_timeout")
    with H2Client(guarded.port) as client:
        goaway = client.goaway()
        assert goaway is not None and goaway.error_code == ErrorCodes.NO_ERROR
        assert client.wait_closed()
    assert _closed_count(guarded, "idle_timeout") >= before + 1


def test_half_sent_headers_are_closed_after_the_header_timeout(guarded: Server) -> None:
    before = _closed_count(guarded, "header_timeout")
    with H2Client(guarded.port) as client:
        # Settings exchanged first: nothing may come between a HEADERS frame and its end.
        client.read(lambda events: any(isinstance(e, SettingsAcknowledged) for e in events))
        block = Encoder().encode(
            [(":method", "GET"), (":path", "/healthz"), (":scheme", "http"), (":authority", "x")]
        )
        frame = HeadersFrame(1, block)
        frame.flags.add("END_STREAM")  # no END_HEADERS: a CONTINUATION must follow
        client.send_raw(frame.serialize())
        assert client.wait_closed()
    assert _closed_count(guarded, "header_timeout") >= before + 1


def test_an_idle_connection_is_closed_and_pings_do_not_keep_it(guarded: Server) -> None:
    with H2Client(guarded.port) as client:
        assert client.response(client.request("/healthz")).status == 200
        client.conn.ping(b"12345678")
        client.flush()
        client.read(lambda events: any(isinstance(e, PingAckReceived) for e in events))
        assert any(isinstance(e, PingAckReceived) for e in client.events)
        goaway = client.goaway()
        assert goaway is not None and goaway.error_code == ErrorCodes.NO_ERROR
        assert goaway.last_stream_id == 1
        assert client.wait_closed()


def test_pings_with_no_stream_open_are_answered(guarded: Server) -> None:
    with H2Client(guarded.port) as client:
        assert client.response(client.request("/healthz")).status == 200
        for n in range(3):
            client.conn.ping(f"ping{n:04d}".encode())
            client.flush()
            client.read(
                lambda events: sum(isinstance(e, PingAckReceived) for e in events) > n, timeout=5
            )
        assert sum(isinstance(e, PingAckReceived) for e in client.events) == 3
        assert not any(
            getattr(e, "error_code", 0) == ErrorCodes.ENHANCE_YOUR_CALM for e in client.events
        )


def test_a_connection_with_an_open_stream_outlives_the_idle_timeout(guarded: Server) -> None:
    with H2Client(guarded.port) as client:
        form = [("content-type", "application/x-www-form-urlencoded")]
        stream = client.request("/oauth/token", "POST", form, end=False)
        for _ in range(4):  # 4 s of a body arriving each second: longer than keep-alive
            time.sleep(1)
            client.conn.send_data(stream, b"a=b&")
            client.flush()
        client.conn.send_data(stream, b"grant_type=x", end_stream=True)
        client.flush()
        answer = client.response(stream)
        assert answer.status == 400  # the form's answer, not a closed connection
        assert not client.closed


def test_requests_over_the_in_flight_cap_get_503(guarded: Server) -> None:
    holders = [H2Client(guarded.port), H2Client(guarded.port)]
    try:
        for n in range(5):  # five requests in flight (their bodies never end)
            holders[n % 2].request("/oauth/token", "POST", FORM, end=False)
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline:
            with H2Client(guarded.port) as client:
                answer = client.response(client.request("/healthz"))
            status = answer.status
            if status == 503:
                break
            time.sleep(0.1)
        assert status == 503
        assert json.loads(answer.body)["code"] == 14  # UNAVAILABLE
        assert answer.headers[b"retry-after"] == b"1"
    finally:
        for holder in holders:
            holder.close()


def test_http2_connections_count_against_the_connection_cap(guarded: Server) -> None:
    socks: list[socket.socket] = []
    try:
        for _ in range(60):
            sock = socket.create_connection(("127.0.0.1", guarded.port))
            sock.sendall(PREFACE)
            socks.append(sock)
        extra = socket.create_connection(("127.0.0.1", guarded.port), timeout=30)
        extra.sendall(PREFACE)
        answer = extra.recv(65536)
        extra.close()
    finally:
        for sock in socks:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 ")


def test_graceful_shutdown_lets_open_streams_finish(
    server: Server, dev_client: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    srv = start_server(server.backend, tmp_path_factory.mktemp("shutdown-h2"))
    try:
        form = (
            f"grant_type=client_credentials&client_id={dev_client['client_id']}"
            f"&client_secret={dev_client['client_secret']}"
        ).encode()
        with H2Client(srv.port) as client:
            stream = client.request(
                "/oauth/token",
                "POST",
                [("content-type", "application/x-www-form-urlencoded")],
                body=form[:5],
                end=False,
            )
            client.conn.ping(b"in order")  # its answer comes after the stream is open
            client.flush()
            client.read(lambda events: any(isinstance(e, PingAckReceived) for e in events))
            srv.process.send_signal(signal.SIGTERM)
            goaway = client.goaway()
            assert goaway is not None and goaway.error_code == ErrorCodes.NO_ERROR
            assert goaway.last_stream_id == stream
            client.resume_after_goaway()
            client.conn.send_data(stream, form[5:], end_stream=True)
            client.flush()
            answer = client.response(stream)
            assert answer.status == 200
            assert "access_token" in json.loads(answer.body)
            assert client.wait_closed()
        # uvicorn re-raises the signal it handled once its shutdown is complete.
        assert srv.process.wait(timeout=30) in {0, -signal.SIGTERM}
        assert "Finished server process" in srv.log_text()
        assert "Cancel " not in srv.log_text()  # no task had to be cancelled
    finally:
        srv.stop()
