"""The HTTP/2 layer's ASGI side, with a tiny application: the server's own application has
no route that answers with trailers yet (the gRPC gateway will), so a uvicorn server with
authrelay's transport runs it in this process, on the standard asyncio event loop (the real
server's tests cover uvloop)."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from authrelay.transport import GuardedHttpProtocol, TransportLimits
from tests.support.h2client import H2Client
from tests.support.servers import free_port


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """`/scope`: the scope as JSON; `/grpc?n=N`: reads the body, answers N bytes and trailers
    with the body's size; `/fail`: raises before answering."""
    assert scope["type"] == "http"
    received = 0
    chunks = 0
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        received += len(message["body"])
        chunks += 1
        if not message["more_body"]:
            break
    if scope["path"] == "/fail":
        raise RuntimeError("the application failed")
    if scope["path"] == "/scope":
        shown = {
            key: (value.decode() if isinstance(value, bytes) else value)
            for key, value in scope.items()
            if key
            in {"http_version", "scheme", "method", "path", "raw_path", "query_string", "root_path"}
        }
        shown["headers"] = [[k.decode(), v.decode()] for k, v in scope["headers"]]
        shown["extensions"] = sorted(scope.get("extensions", {}))
        body = json.dumps(shown).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    size = int(scope["query_string"].decode().partition("=")[2] or 0)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/grpc")],
            "trailers": True,
        }
    )
    for _ in range(2):  # in two body messages
        await send({"type": "http.response.body", "body": b"x" * (size // 2), "more_body": True})
    await send(
        {
            "type": "http.response.trailers",
            "headers": [(b"grpc-status", b"0"), (b"x-received", str(received).encode())],
            "more_trailers": False,
        }
    )


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[int]:
    port = free_port()
    limits = TransportLimits(
        header_timeout=10,
        body_idle_timeout=10,
        body_timeout=60,
        max_connections=100,
        max_requests_in_flight=100,
    )
    config = uvicorn.Config(
        tiny_app,
        host="127.0.0.1",
        port=port,
        loop="asyncio",
        http=functools.partial(GuardedHttpProtocol, limits=limits),  # type: ignore[arg-type]
        lifespan="off",
        proxy_headers=False,
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(timeout=30)


def test_a_stream_is_one_asgi_call_with_an_http2_scope(tiny_server: int) -> None:
    with H2Client(tiny_server) as client:
        stream = client.request(
            "/sc%6fpe?a=1&b=%20",
            "POST",
            [("cookie", "a=1"), ("x-one", "1"), ("cookie", "b=2")],
            body=b"hello",
        )
        answer = client.response(stream)
    assert answer.status == 200
    assert b"connection" not in answer.headers  # HTTP/2 has no connection-specific headers
    scope = json.loads(answer.body)
    assert scope == {
        "http_version": "2",
        "scheme": "http",
        "method": "POST",
        "path": "/scope",
        "raw_path": "/sc%6fpe",
        "query_string": "a=1&b=%20",
        "root_path": "",
        "headers": [["host", "127.0.0.1"], ["x-one", "1"], ["cookie", "a=1; b=2"]],
        "extensions": ["http.response.trailers"],
    }


def test_trailers_end_the_stream_after_a_large_flow_controlled_answer(tiny_server: int) -> None:
    # 3 MiB each way: far beyond both sides' initial windows (64 KiB for this client).
    upload = b"u" * (3 * 1024 * 1024)
    with H2Client(tiny_server) as client:
        stream = client.request("/grpc?n=3145728", "POST", end=False)
        client.send_body(stream, upload)
        answer = client.response(stream, timeout=60)
        assert answer.status == 200
        assert answer.headers[b"content-type"] == b"application/grpc"
        assert len(answer.body) == 3 * 1024 * 1024
        assert answer.trailers == {b"grpc-status": b"0", b"x-received": str(len(upload)).encode()}
        # Many streams at once on the same connection, each with its own trailers.
        streams = [client.request(f"/grpc?n={n * 1000}", flush=False) for n in range(1, 9)]
        client.flush()
        for n, each in enumerate(streams, start=1):
            reply = client.response(each)
            assert (len(reply.body), reply.trailers[b"grpc-status"]) == (n * 1000, b"0")


def test_an_application_error_is_a_500_on_its_stream_only(tiny_server: int) -> None:
    with H2Client(tiny_server) as client:
        failed = client.response(client.request("/fail"))
        assert failed.status == 500
        assert json.loads(failed.body)["code"] == 13  # INTERNAL
        assert client.response(client.request("/grpc?n=10")).trailers[b"grpc-status"] == b"0"


def test_http11_still_works_beside_it(tiny_server: int) -> None:
    import httpx

    answer = httpx.post(f"http://127.0.0.1:{tiny_server}/scope", content=b"x")
    assert answer.json()["http_version"] == "1.1"
    # A first packet that only starts like the preface is HTTP/1.1 all the same.
    import socket

    with socket.create_connection(("127.0.0.1", tiny_server), timeout=30) as sock:
        sock.sendall(b"P")
        time.sleep(0.2)
        sock.sendall(b"OST /scope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 ")
