"""`POST /api/v1/execute_tool` as a plain ASGI app in front of FastAPI (like `/proxy`): a tool
call is on the agent's hot path, and FastAPI's routing, dependencies and response encoding
cost more than the call itself (docs/benchmarks.md, "Tools"). The FastAPI route of the same
path stays for the OpenAPI document and answers identically: the same token check, body
reader and error envelope."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from authrelay.asgi_errors import answer_error, send_json
from authrelay.errors import Unauthenticated, Unavailable
from authrelay.http_headers import bearer_token, parse_host
from authrelay.proxy.resolve import cached_environment
from authrelay.request_body import read_json
from authrelay.tools.execute import execute_tool, parse_execute
from authrelay_client.wire import ExecuteToolResponse

if TYPE_CHECKING:
    from authrelay.runtime import Runtime

PATH = "/api/v1/execute_tool"
#: the ASGI scope extension the gRPC gateway sets on the REST calls it makes
GRPC_EXTENSION = "authrelay.grpc"
log = logging.getLogger("authrelay.tools")


class ExecuteToolApp:
    def __init__(self) -> None:
        self.runtime: Runtime | None = None  # set by the application's lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        try:
            if runtime is None:
                raise Unavailable("the server is not running")
            body = await self._handle(runtime, scope, receive)
        except Exception as exc:
            await answer_error(send, exc, started=False, log=log, what="execute_tool failure")
            return
        await send_json(send, HTTPStatus.OK, body)

    async def _handle(
        self, runtime: Runtime, scope: Scope, receive: Receive
    ) -> ExecuteToolResponse:
        token = host = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = bearer_token(value.decode("latin-1")) or ""
            elif name == b"host":
                host = parse_host(value.decode("latin-1"))[0]
        if not token:
            raise Unauthenticated(
                "missing API token: send Authorization: Bearer <token> from POST /oauth/token"
            )
        env_id = await cached_environment(runtime, token, host)
        settings = runtime.settings
        raw = await read_json(
            Request(scope, receive), settings.max_body_bytes, settings.max_discard_bytes
        )
        # the gRPC gateway marks the calls it makes in-process (grpc/gateway.py)
        source = "GRPC" if GRPC_EXTENSION in scope.get("extensions", ()) else "REST"
        return await execute_tool(runtime, env_id, parse_execute(raw, source))
