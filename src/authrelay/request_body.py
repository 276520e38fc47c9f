"""Reading a request body: size-limited (`read_body`: 413 past the limit, 408/499 when it
does not arrive), then parsed strictly as JSON (`parse_json`: well-formed UTF-8, no duplicate
keys, no NaN or Infinity, no NUL characters) or as a form (`parse_form`: the same rules for
`application/x-www-form-urlencoded`). The one way the API routes, the token endpoint, the
hosted pages and the plain-ASGI tool app read bodies; a neutral module below all of them.
The dashboard's forms and the MCP endpoint are read by Starlette's form parser and the MCP
SDK, which apply their own limits.

NUL characters are refused because PostgreSQL cannot store or compare text that holds
U+0000 (SQLite can), so one rule keeps both backends alike and turns what would be a
database error into a SPEC §2 answer naming each field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from authrelay.errors import (
    ClientClosedRequest,
    FieldViolation,
    IncompleteRequest,
    InvalidArgument,
    PayloadTooLarge,
    RequestTimeout,
    bounded,
    clip,
)
from authrelay.providers.validation import format_loc
from authrelay_client.wire import JSONObject

#: scope key the server's HTTP protocol (`transport`) sets when the body timeout closed the
#: request, so that an unfinished body is answered 408 rather than 499
TIMED_OUT = "authrelay.timed_out"

MESSAGE = "must not contain NUL characters (U+0000)"


def nul_fields(value: Any) -> list[str]:
    """Paths (as SPEC §2 field names) of the strings, keys included, that hold a NUL."""
    found: list[str] = []
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), value)]
    while stack:  # iterative: bodies may nest deeply
        loc, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(format_loc(loc) or "body")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if "\x00" in key:
                    found.append(format_loc((*loc, key)) or "body")
                stack.append(((*loc, key), sub))
        elif isinstance(item, list):
            stack.extend(((*loc, i), sub) for i, sub in enumerate(item))
    return sorted(set(found))


def refuse_nul(value: Any) -> None:
    fields = nul_fields(value)
    if fields:
        raise InvalidArgument.from_violations([FieldViolation(f, MESSAGE) for f in fields])


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


def parse_form(raw: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body: UTF-8, no parameter given twice (RFC 6749
    §3.2 asks it of the token endpoint; no form of authrelay's repeats one), no NUL. The
    messages are the token endpoint's `error_description`s, hence plain sentences."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidArgument(
            "the body is not UTF-8", [FieldViolation("body", "is not UTF-8 encoded")]
        ) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise InvalidArgument(
                f"parameter {key!r} is repeated",
                [FieldViolation(key, "is repeated")],
            )
        form[key] = value
    fields = nul_fields(form)
    if fields:
        raise InvalidArgument(
            f"{', '.join(fields)}: {MESSAGE}", bounded([FieldViolation(f, MESSAGE) for f in fields])
        )
    return form


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


async def read_body(request: Request, max_bytes: int, discard_bytes: int | None = None) -> bytes:
    """The whole body, at most `max_bytes`; larger bodies get 413 once read and dropped (up
    to `discard_bytes`, by default the app's `max_discard_bytes`; beyond that the 413 goes out
    at once and the connection is closed). A client that disconnects or times out mid-body
    raises IncompleteRequest."""
    declared = request.headers.get("content-length")
    discard = _discard_limit(request) if discard_bytes is None else discard_bytes
    limit = max(discard, max_bytes)
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


async def read_json(request: Request, max_bytes: int, discard_bytes: int | None = None) -> Any:
    """The one way a route reads its JSON body: the parsed value, or the SPEC §2 error (400
    malformed, 413 too large; see `read_body` and `parse_json`)."""
    return parse_json(await read_body(request, max_bytes, discard_bytes))
