"""Reading JSON request bodies strictly: size-limited, well-formed, no duplicate keys."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from authrelay.api.nul import refuse_nul
from authrelay.errors import InvalidArgument, PayloadTooLarge


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
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


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > max_bytes
        except ValueError:
            raise InvalidArgument.field("Content-Length", "is not a number") from None
        if too_big:
            raise PayloadTooLarge.field("body", f"is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge.field("body", f"is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int) -> Any:
    return parse_json(await read_body(request, max_bytes))
