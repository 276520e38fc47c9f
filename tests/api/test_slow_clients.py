"""Slow and numerous clients against the real server: connections that never finish their
headers or trickle their bodies are closed after the timeouts, connections and requests over
the caps are refused at once, and `/healthz` keeps answering throughout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ONE_BACKEND
from tests.support.servers import Server, start_server

# The limits are the HTTP layer's, before any request reaches the store: one backend is
# enough, and each test waits seconds for a timeout.
pytestmark = ONE_BACKEND

LIMITS = {
    "AUTHRELAY_HEADER_TIMEOUT": "2",
    "AUTHRELAY_BODY_IDLE_TIMEOUT": "2",
    "AUTHRELAY_BODY_TIMEOUT": "5",
    "AUTHRELAY_MAX_CONNECTIONS": "50",
    "AUTHRELAY_MAX_REQUESTS_IN_FLIGHT": "5",
    "AUTHRELAY_MAX_HEADER_BYTES": "4096",
}


@pytest.fixture(scope="module")
def guarded(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(server.backend, tmp_path_factory.mktemp("guarded"), **LIMITS)
    yield srv
    srv.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(30)  # a bound on the wait for the server, not a measurement
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _healthz(server: Server) -> int:
    return httpx.get(f"{server.url}/healthz", timeout=30).status_code


def _closed_count(server: Server, reason: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(f'authrelay_connections_closed_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_half_sent_headers_are_closed_after_the_timeout(guarded: Server) -> None:
    before = _closed_count(guarded, "header_timeout")
    socks = [_connect(guarded.port) for _ in range(40)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert _healthz(guarded) == 200  # the slow ones do not block anyone else
        answers = [_read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[:3]
    assert _closed_count(guarded, "header_timeout") >= before + 40
    assert _healthz(guarded) == 200


def test_silent_connections_are_closed_after_the_timeout(guarded: Server) -> None:
    socks = [_connect(guarded.port) for _ in range(20)]
    try:
        assert _healthz(guarded) == 200
        assert [_read_until_closed(sock) for sock in socks] == [b""] * 20
    finally:
        for sock in socks:
            sock.close()


def test_connections_over_the_cap_are_refused_at_once(guarded: Server) -> None:
    """200 slow connections against a cap of 50: the excess is answered 503 and closed
    straight away (no file descriptor is held for it); the rest time out; then the
    server answers as before."""
    socks = []
    try:
        for _ in range(200):
            sock = _connect(guarded.port)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(sock)
        answers = [_read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
    timed_out = [a for a in answers if a.startswith(b"HTTP/1.1 408 ")]
    assert len(refused) >= 150
    assert b"too many open connections" in refused[0]
    assert len(refused) + len(timed_out) == 200
    assert _healthz(guarded) == 200


def _post_head(length: int) -> bytes:
    return (
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_trickled_body_is_cut_off_by_the_total_timeout(guarded: Server) -> None:
    """Two bytes every half second never trips the idle timeout; the total one ends it."""
    with _connect(guarded.port) as sock:
        sock.sendall(_post_head(100_000))
        sock.settimeout(0.5)
        answer = b""
        for _ in range(600):  # at most 5 minutes; the server gives up long before
            try:
                sock.sendall(b"ab")
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            break
        sock.settimeout(30)
        answer += _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"did not arrive in time" in answer
    assert _healthz(guarded) == 200


def test_stalled_body_is_cut_off_by_the_idle_timeout(guarded: Server) -> None:
    before = _closed_count(guarded, "body_timeout")
    with _connect(guarded.port) as sock:
        sock.sendall(_post_head(1000) + b"grant_type=client_")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert _closed_count(guarded, "body_timeout") == before + 1
    # The application saw the request end as a timeout, not as an error.
    metrics = httpx.get(f"{guarded.url}/metrics").text
    assert 'route="/oauth/token",status="408"' in metrics
    assert 'route="/oauth/token",status="500"' not in metrics


def test_requests_over_the_in_flight_cap_get_503(guarded: Server) -> None:
    """Five requests waiting for their bodies fill the cap of five; a sixth is refused."""
    socks = [_connect(guarded.port) for _ in range(5)]
    try:
        for sock in socks:
            sock.sendall(_post_head(1000))
        time.sleep(0.5)  # let the server read the five heads
        response = httpx.get(f"{guarded.url}/healthz", timeout=30)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == 14
        for sock in socks:
            sock.sendall(b"a" * 1000)
        answers = [_read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 400 ") for a in answers), answers
    assert _healthz(guarded) == 200


def test_oversized_headers_get_431(guarded: Server) -> None:
    """The header bytes a client may make the server hold are bounded, not only their time."""
    before = _closed_count(guarded, "headers_too_large")
    with _connect(guarded.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 10_000)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    assert _closed_count(guarded, "headers_too_large") == before + 1
    headers = {"X-Fits": "a" * 3000}
    assert httpx.get(f"{guarded.url}/healthz", headers=headers).status_code == 200
