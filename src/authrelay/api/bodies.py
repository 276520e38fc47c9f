"""Reading JSON request bodies strictly: size-limited, well-formed, no duplicate keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import ClientDisconnect, Request

from authrelay.api.nul import refuse_nul
from authrelay.errors import (
    ClientClosedRequest,
    FieldViolation,
    IncompleteRequest,
    InvalidArgument,
    PayloadTooLarge,
    RequestTimeout,
    clip,
)
from authrelay.transport import TIMED_OUT
from authrelay.wire import JSONObject


def _no_duplicates(pairs: list[tuple[str, Any]]) -> JSONObject:
    out = dict(pairs)  # built in C; look for the repeated key only when there is one
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {clip(key, 100)!r}")
            seen.add(key)
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidArgument.field("body", "is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument.field("body", "is not UTF-8 encoded JSON") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise InvalidArgument.field(
            "body", f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise InvalidArgument.field("body", f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgument.field("body", "is nested too deeply") from None
    refuse_nul(value)
    return value


DEFAULT_DISCARD_BYTES = 33_554_432


def _discard_limit(request: Request) -> int:
    runtime = getattr(request.app.state, "runtime", None) if "app" in request.scope else None
    return runtime.settings.max_discard_bytes if runtime is not None else DEFAULT_DISCARD_BYTES


def _too_large(max_bytes: int, *, close: bool) -> PayloadTooLarge:
    description = f"is larger than {max_bytes} bytes"
    exc = PayloadTooLarge(f"body: {description}", [FieldViolation("body", description)])
    if close:
        exc.headers["Connection"] = "close"
    return exc


def _incomplete(request: Request) -> IncompleteRequest:
    if request.scope.get(TIMED_OUT):
        return RequestTimeout("the request body did not arrive in time")
    return ClientClosedRequest("the client closed the connection before the body was complete")


async def _drain(chunks: AsyncIterator[bytes], received: int, limit: int) -> bool:
    """Read and drop the rest of a body that is too large, so that a client that writes its
    whole body before reading the answer (Python's urllib, for one) gets the 413 instead of a
    connection reset. True when the body ended within `limit` bytes."""
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            return False
    return True


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, at most `max_bytes`; larger bodies get 413 once read and dropped (up
    to `max_discard_bytes`; beyond that the 413 goes out at once and the connection is
    closed). A client that disconnects or times out mid-body raises IncompleteRequest."""
    declared = request.headers.get("content-length")
    limit = max(_discard_limit(request), max_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise InvalidArgument.field("Content-Length", "is not a number") from None
            if length > max_bytes:
                if length > limit:
                    raise _too_large(max_bytes, close=True)
                raise _too_large(max_bytes, close=not await _drain(request.stream(), 0, limit))
        stream = request.stream()
        async for chunk in stream:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes, close=not await _drain(stream, size, limit))
            chunks.append(chunk)
    except ClientDisconnect:
        raise _incomplete(request) from None
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int) -> Any:
    return parse_json(await read_body(request, max_bytes))
