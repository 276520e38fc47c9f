"""authrelay's ASGI application run in this process on an event loop of its own thread, and
a small ASGI driver for it: gRPC calls with an HTTP/2 scope as the HTTP/2 layer makes them
(docs/architecture.md; issue 22's contract), collecting the response start, body and
trailers; and plain HTTP/1.1 calls for arranging tests. For the gateway's tests before a
real HTTP/2 server is in the way, and for calls no real client would send."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Awaitable, Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

from authrelay.app import create_app
from authrelay.config import Settings
from tests.support.servers import ALLOWLIST, Backend

T = TypeVar("T")
HOST = "127.0.0.1:8080"


@dataclass
class Collected:
    """What an ASGI app sent for one request."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    announced_trailers: bool = False
    messages: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k == name.encode()), None)

    def trailer(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.trailers if k == name.encode()), None)

    @property
    def grpc_status(self) -> int:
        value = self.trailer("grpc-status")
        assert value is not None, f"no grpc-status trailer: {self.messages}"
        return int(value)

    @property
    def grpc_message(self) -> str:
        return unquote(self.trailer("grpc-message") or "")

    def details_bin(self) -> bytes:
        raw = self.trailer("grpc-status-details-bin") or ""
        return base64.b64decode(raw + "=" * (-len(raw) % 4))

    def json(self) -> Any:
        return json.loads(self.body)


def frame(message: bytes, flag: int = 0) -> bytes:
    return bytes([flag]) + len(message).to_bytes(4, "big") + message


def unframe(body: bytes) -> bytes:
    assert len(body) >= 5, body
    length = int.from_bytes(body[1:5], "big")
    assert body[0] == 0 and len(body) == 5 + length, body[:16]
    return bytes(body[5:])


def call(app: InProcessApp, method: str, request: Any, token: str, response: Any) -> Any:
    """A gRPC call that must succeed: `request` a message, `response` the answer's class."""
    answer = app.grpc(method, frame(request.SerializeToString()), token=token)
    assert answer.grpc_status == 0, (answer.grpc_status, answer.grpc_message)
    return response.FromString(unframe(answer.body))


def status_of(answer: Collected) -> Any:
    """The answer's `google.rpc.Status`, checked against its grpc-status and grpc-message
    as gRPC clients check it (grpcio-status refuses a mismatch)."""
    from google.rpc import status_pb2

    status = status_pb2.Status.FromString(answer.details_bin())
    assert status.code == answer.grpc_status
    assert status.message == answer.grpc_message
    return status


class InProcessApp:
    """`create_app(settings)` with its lifespan run on a loop in a thread of its own."""

    def __init__(self, backend: Backend, **settings: Any) -> None:
        self.settings = Settings(
            data_dir=backend.data_dir,
            database_url=backend.database_url,
            upstream_allowlist=ALLOWLIST,
            **settings,
        )
        self.app: ASGIApp = create_app(self.settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._lifespan: Future[None] | None = None
        self._events: asyncio.Queue[Message] | None = None
        self._answers: asyncio.Queue[Message] | None = None

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def start(self) -> InProcessApp:
        self.thread.start()

        async def queues() -> None:
            self._events, self._answers = asyncio.Queue(), asyncio.Queue()

        self.run(queues())
        assert self._events is not None and self._answers is not None
        events, answers = self._events, self._answers
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.run_coroutine_threadsafe(
            self.app(scope, events.get, answers.put), self.loop
        )

        async def started() -> Message:
            await events.put({"type": "lifespan.startup"})
            return await answers.get()

        answer = self.run(started())
        assert answer["type"] == "lifespan.startup.complete", answer
        return self

    def stop(self) -> None:
        assert self._events is not None and self._answers is not None
        events, answers = self._events, self._answers

        async def stopped() -> Message:
            await events.put({"type": "lifespan.shutdown"})
            return await answers.get()

        self.run(stopped())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def request(
        self,
        scope: dict[str, Any],
        chunks: Sequence[bytes],
        *,
        pause: float = 0,
        disconnect: Awaitable[None] | None = None,
    ) -> Collected:
        """One request: its body in `chunks` (one ASGI message each), then, once the body
        is consumed, `http.disconnect` only when `disconnect` completes (never by default)."""
        out = Collected()
        pending = list(chunks) or [b""]

        async def receive() -> Message:
            if pending:
                if pause:
                    await asyncio.sleep(pause)
                chunk = pending.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
            if disconnect is None:
                await asyncio.Event().wait()
            else:
                await disconnect
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            out.messages.append(message["type"])
            if message["type"] == "http.response.start":
                out.status = message["status"]
                out.headers = list(message.get("headers", []))
                out.announced_trailers = bool(message.get("trailers", False))
            elif message["type"] == "http.response.body":
                out.body += message.get("body", b"")
            elif message["type"] == "http.response.trailers":
                out.trailers = list(message.get("headers", []))

        await self.app(scope, receive, send)
        return out

    def grpc(
        self,
        method: str,
        body: bytes | Sequence[bytes],
        *,
        token: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        content_type: str = "application/grpc",
        verb: str = "POST",
        pause: float = 0,
    ) -> Collected:
        """A gRPC call (`method` is `/package.Service/Method`) with an HTTP/2 scope."""
        raw_headers = [
            (b"host", HOST.encode()),
            (b"content-type", content_type.encode()),
            (b"te", b"trailers"),
        ]
        if token:
            raw_headers.append((b"authorization", f"Bearer {token}".encode()))
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "2",
            "scheme": "http",
            "method": verb,
            "path": method,
            "raw_path": method.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
            "extensions": {"http.response.trailers": {}},
        }
        chunks = [body] if isinstance(body, bytes) else list(body)
        return self.run(self.request(scope, chunks, pause=pause))

    def http(
        self,
        verb: str,
        path: str,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        query: str = "",
    ) -> Collected:
        """A plain HTTP/1.1 request."""
        raw_headers = [(b"host", HOST.encode()), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "http",
            "method": verb,
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
        }
        return self.run(self.request(scope, [body]))

    def token(self, client: dict[str, str]) -> str:
        form = (
            f"grant_type=client_credentials&client_id={client['client_id']}"
            f"&client_secret={client['client_secret']}"
        )
        answer = self.http(
            "POST",
            "/oauth/token",
            form.encode(),
            [("content-type", "application/x-www-form-urlencoded")],
        )
        assert answer.status == 200, answer.body
        return str(answer.json()["access_token"])
