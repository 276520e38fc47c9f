"""The one place where the plain-ASGI apps (the proxy, `execute_tool`, the MCP server) turn an
exception into the SPEC §2 envelope; FastAPI's routes have `api/errors.py` for the same.

Each app keeps its work inside one `try` and calls `answer_error` from its `except`: nothing
is added on the way of a request that succeeds (no extra ASGI layer, no extra await), which
matters on the proxy's hot path. Once the response has started, no envelope can follow:
`answer_error` raises the exception again, and the server ends the connection and logs it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import Message, Send

from authrelay.errors import AuthrelayError, InternalError

ERROR_HEADER = b"x-authrelay-error"
"""Marks an answer of authrelay itself among the upstream's answers (`/proxy`): the code's name."""


async def send_json(
    send: Send,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *raw_headers: tuple[bytes, bytes],
) -> None:
    """A whole JSON response in two messages, with its length."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *raw_headers,
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def answer_error(
    send: Send,
    exc: Exception,
    *,
    started: bool,
    log: logging.Logger,
    what: str = "unhandled error",
    extra: Mapping[str, Any] | None = None,
    marked: bool = False,
    shape: Callable[[AuthrelayError], object] | None = None,
) -> int:
    """Answer `exc` with the §2 envelope and return the HTTP status sent: an AuthrelayError
    as it says, anything else logged as `what` with its stack (and `extra`) and answered as a 500
    without details. `marked` adds ERROR_HEADER; `shape` makes another body of the error (the
    MCP URLs' JSON-RPC errors). After the response has `started`, `exc` is raised again."""
    if started:
        raise exc
    if isinstance(exc, AuthrelayError):
        error = exc
    else:
        log.error(what, exc_info=(type(exc), exc, exc.__traceback__), extra=extra)
        error = InternalError("internal error; the server log has details")
    mark = ((ERROR_HEADER, error.code.name.encode()),) if marked else ()
    body = error.body() if shape is None else shape(error)
    await send_json(send, error.http_status, body, error.headers, *mark)
    return error.http_status


class StartWatch:
    """`send` that remembers whether the response has started: for an app that hands the
    request to code of its own (the MCP SDK) and must know whether an error can still be
    answered."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
