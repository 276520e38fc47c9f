"""`POST /api/v1/execute_tool` as a plain ASGI app in front of FastAPI (like `/proxy`): a tool
call is on the agent's hot path, and FastAPI's routing, dependencies and response encoding
cost more than the call itself (docs/benchmarks.md, "Tools"). The FastAPI route of the same
path stays for the OpenAPI document and answers identically."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from authrelay.api.bodies import parse_json
from authrelay.errors import AuthrelayError, InternalError, PayloadTooLarge, Unavailable
from authrelay.errors import Unauthenticated as _Unauthenticated
from authrelay.proxy.call import cached_environment
from authrelay.tools.execute import execute_tool, parse_execute
from authrelay.wire import ExecuteToolResponse

if TYPE_CHECKING:
    from authrelay.runtime import Runtime

PATH = "/api/v1/execute_tool"
log = logging.getLogger("authrelay.tools")


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    raw = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Unavailable("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge.field("body", f"is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ExecuteToolApp:
    def __init__(self) -> None:
        self.runtime: Runtime | None = None  # set by the application's lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        try:
            if runtime is None:
                raise Unavailable("the server is not running")
            body = await self._handle(runtime, scope, receive)
        except AuthrelayError as exc:
            await _send_json(send, exc.http_status, exc.body(), exc.headers)
            return
        except Exception:
            log.exception("execute_tool failure")
            error = InternalError("internal error; the server log has details")
            await _send_json(send, error.http_status, error.body(), {})
            return
        await _send_json(send, 200, body, {})

    async def _handle(
        self, runtime: Runtime, scope: Scope, receive: Receive
    ) -> ExecuteToolResponse:
        token = host = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else ""
            elif name == b"host":
                host = value.decode("latin-1").rsplit(":", 1)[0].lower()
        if not token:
            raise _Unauthenticated(
                "missing API token: send Authorization: Bearer <token> from POST /oauth/token"
            )
        env_id = await cached_environment(runtime, token, host)
        raw = parse_json(await _read(receive, runtime.settings.max_body_bytes))
        return await execute_tool(runtime, env_id, parse_execute(raw))
