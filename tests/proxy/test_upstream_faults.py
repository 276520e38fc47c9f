"""Upstreams that misbehave at the HTTP level (a raw-socket upstream, tests/support/
rawupstream.py): `Expect: 100-continue` ignored or answered, an upstream that never answers
or never reads the body, and answers shorter than their Content-Length."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.proxy import enable
from tests.support.rawhttp import RawResponse
from tests.support.rawupstream import RawUpstream
from tests.support.servers import Server, create_client
from tests.support.upstream import provider_definition

BODY = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB: curl sends Expect


@pytest.fixture(scope="module")
def raw_upstream() -> Iterator[RawUpstream]:
    upstream = RawUpstream().start()
    yield upstream
    upstream.stop()


@dataclass
class Exchange:
    interim: list[int]  # the 1xx statuses the caller got before the final answer
    response: RawResponse


class RawCaller:
    """Exact request bytes from a caller that sends `Expect: 100-continue` the way curl does
    (the header section, then the body once `100 Continue` arrives), or that pushes a body
    from a second thread while it reads the answer."""

    def __init__(self, port: int, token: str, connection: str) -> None:
        self.port, self.token, self.connection = port, token, connection

    def _head(self, method: str, target: str, extra: list[tuple[str, str]]) -> bytes:
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Connection: close",
            f"Authorization: {self.token}",
            f"connection_name: {self.connection}",
            "identifier: u",
            *(f"{k}: {v}" for k, v in extra),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def expect_continue(self, target: str, body: bytes) -> Exchange:
        extra = [("Expect", "100-continue"), ("Content-Length", str(len(body)))]
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(self._head("POST", target, extra))
            reader = _Reader(sock)
            interim = []
            status, head = reader.head()
            if status == 100:
                interim.append(status)
                sock.sendall(body)
                status, head = reader.head()
            return Exchange(interim, reader.response(status, head))

    def push(self, target: str, size: int, expect: bool = False) -> Exchange:
        """A body of `size` bytes sent from another thread; the answer read meanwhile."""
        extra = [("Content-Length", str(size))] + ([("Expect", "100-continue")] * expect)
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(self._head("POST", target, extra))
            reader = _Reader(sock)
            interim = []
            if expect:
                status, head = reader.head()
                assert status == 100, (status, head)
                interim.append(status)

            def send_body() -> None:
                block = b"z" * (1 << 20)
                try:
                    for _ in range(size // len(block)):
                        sock.sendall(block)
                except OSError:
                    pass  # the server answered and closed before taking it all

            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            status, head = reader.head()
            return Exchange(interim, reader.response(status, head))


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def head(self) -> tuple[int, str]:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before a status line: {self.buffer!r}")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        text = head.decode("latin-1")
        return int(text.split(" ", 2)[1]), text

    def response(self, status: int, head: str) -> RawResponse:
        """The rest of the answer, read until the server closes (Connection: close)."""
        chunks = [self.buffer]
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        headers = {}
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return RawResponse(status, headers, b"".join(chunks))


def _setup(server: Server, upstream: RawUpstream, unique: str, tag: str) -> RawCaller:
    client = create_client(server.backend, "dev")
    conn = f"{tag}-{unique}"
    with server.api(client) as api:
        definition = provider_definition(f"{tag.title()} {unique}", upstream)
        enable(api, definition, conn, "u", {"api_key": "upstream-secret"})
        return RawCaller(server.port, str(api.headers["Authorization"]), conn)


@pytest.mark.parametrize("mode", ["ignore-expect", "continue"])
def test_expect_100_continue_upload(
    server: Server, raw_upstream: RawUpstream, unique: str, mode: str
) -> None:
    """curl sends `Expect: 100-continue` with any body over 1 MB. authrelay answers the
    caller's `100 Continue` itself (once the call is authenticated and routed) and does not
    forward the expectation, so an upstream that ignores it gets the body at once and one
    that sends `100 Continue` anyway is fine too."""
    caller = _setup(server, raw_upstream, unique, "expect")
    exchange = caller.expect_continue(f"/proxy/upload/{mode}", BODY)
    assert exchange.interim == [100]
    assert exchange.response.status == 200, exchange.response.body[:300]
    assert exchange.response.json() == {
        "size": len(BODY),
        "sha256": hashlib.sha256(BODY).hexdigest(),
    }
    seen = [r for r in raw_upstream.requests if r.target == f"/api/upload/{mode}"][-1]
    assert seen.header("Expect") is None
    assert seen.header("Content-Length") == str(len(BODY))
    assert seen.header("Authorization") == "upstream-secret"
    # A call refused before routing gets its final answer instead of 100 Continue, so the
    # caller never sends the body.
    refused = RawCaller(server.port, caller.token, f"nosuch-{unique}")
    exchange = refused.expect_continue(f"/proxy/upload/{mode}", BODY)
    assert exchange.interim == [] and exchange.response.status == 404


@pytest.mark.parametrize(
    ("target", "size", "expect", "what"),
    [
        ("/proxy/read/silent", 0, False, "answer"),  # a GET to an upstream that never answers
        ("/proxy/upload/silent", 2 << 20, True, "answer"),  # takes the body, never answers
        ("/proxy/upload/stall", 64 << 20, False, "take the request body"),  # never reads it
        ("/proxy/upload/stall", 64 << 20, True, "take the request body"),
    ],
)
def test_an_upstream_that_never_answers_ends_with_the_read_timeout(
    strict_server: Server,
    raw_upstream: RawUpstream,
    unique: str,
    target: str,
    size: int,
    expect: bool,
    what: str,
) -> None:
    """strict_server gives upstreams one second (AUTHRELAY_PROXY_READ_TIMEOUT=1): whether the
    upstream sits on the request, on its body or on its answer, the caller gets a 504."""
    caller = _setup(strict_server, raw_upstream, unique, "mute")
    if size:
        exchange = caller.push(target, size, expect=expect)
    else:
        with socket.create_connection(("127.0.0.1", strict_server.port), timeout=30) as sock:
            sock.sendall(caller._head("GET", target, []))
            reader = _Reader(sock)
            exchange = Exchange([], reader.response(*reader.head()))
    assert exchange.interim == ([100] if expect else [])
    response = exchange.response
    assert response.status == 504, response.body[:300]
    assert response.headers["x-authrelay-error"] == "DEADLINE_EXCEEDED"
    body = json.loads(response.body)
    assert body["code"] == 4
    assert body["message"] == f"the upstream did not {what} within 1s"


def _proxy_lines(server: Server, marker: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.log_text().splitlines() if marker in line]


def _truncated_count(server: Server) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith("authrelay_proxy_upstream_truncated_total "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(
    ("which", "mode", "promised", "error"),
    [
        ("server", "short", 100, "ClientPayloadError"),
        ("server", "short-big", 200_000, "ClientPayloadError"),
        # stalls mid-body: strict_server's one-second read timeout ends it
        ("strict_server", "short-stall", 100, "SocketTimeoutError"),
    ],
)
def test_a_truncated_upstream_answer_is_one_warning(
    server: Server,
    strict_server: Server,
    raw_upstream: RawUpstream,
    unique: str,
    which: str,
    mode: str,
    promised: int,
    error: str,
) -> None:
    server = strict_server if which == "strict_server" else server
    caller = _setup(server, raw_upstream, unique, "cut")
    before_count = _truncated_count(server)
    before_log = server.log_text()
    secret = f"query-secret-{unique}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(caller._head("GET", f"/proxy/v1/{mode}?api_key={secret}", []))
        reader = _Reader(sock)
        response = reader.response(*reader.head())
    # The caller's answer is cut off too: the promised length, fewer bytes, then a close.
    assert response.status == 200
    assert response.headers["content-length"] == str(promised)
    assert len(response.body) < promised
    deadline = time.monotonic() + 10  # the proxy's own line is written after the answer
    while time.monotonic() < deadline and not any(
        e.get("msg") == "proxy" for e in _proxy_lines(server, caller.connection)
    ):
        time.sleep(0.05)
    lines = _proxy_lines(server, caller.connection)
    warnings = [e for e in lines if e["level"] == "warning"]
    assert len(warnings) == 1, lines
    warning = warnings[0]
    assert warning["logger"] == "authrelay.proxy"
    assert warning["connection"] == caller.connection
    assert warning["path"] == f"/proxy/v1/{mode}"
    assert warning["status"] == 200 and warning["error"] == error
    new_lines = server.log_text()[len(before_log) :]
    assert "Traceback" not in new_lines and '"stack"' not in new_lines
    assert '"level": "error"' not in new_lines, new_lines
    assert secret not in new_lines and "upstream-secret" not in new_lines
    assert _truncated_count(server) == before_count + 1
