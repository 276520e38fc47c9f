"""Turning a tool's inputs into an HTTP request by its binding: the path filled with
percent-encoded values, the query string, headers and a JSON or form body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.tools.model import PLACEHOLDER, Binding
from authrelay_client.wire import JSONObject


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes | None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def path_segment(value: Any) -> str:
    """An input's value as it fills a path placeholder: one percent-encoded segment."""
    return quote(_scalar(value), safe="")


def fill_path(template: str, segments: dict[str, str]) -> str:
    """`template` with each `{placeholder}` replaced by its segment."""
    return PLACEHOLDER.sub(lambda m: segments[m.group(1)], template)


def build_request(binding: Binding, params: JSONObject) -> Request:
    """The request for `params` (already checked against the input schema)."""
    path_values: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = [
        ("Accept", "application/json"),
        *(binding.headers or {}).items(),
    ]
    body: JSONObject = {}
    root: Any = None
    has_root = False
    violations: list[FieldViolation] = []
    for name, value in params.items():
        where, wire = binding.location_of(name)
        if value is None and where in ("path", "query", "header"):
            continue  # no null there: left out. A JSON body gets the null the schema allowed
        if where == "path":
            text = _scalar(value)
            if text in {"", ".", ".."} or any(
                dots in text for dots in ("../", "..\\", "/..", "\\..")
            ):
                violations.append(FieldViolation(f"params.{name}", "is not a valid path segment"))
            path_values[wire] = path_segment(text)
        elif where == "query":
            items = value if isinstance(value, list) else [value]
            query += [(wire, _scalar(item)) for item in items]
        elif where == "header":
            text = _scalar(value)
            if "\r" in text or "\n" in text:
                violations.append(FieldViolation(f"params.{name}", "must not contain line breaks"))
            headers.append((wire, text))
        elif where == "body_root":
            root, has_root = value, True
        else:
            body[wire] = value
    missing = [p for p in PLACEHOLDER.findall(binding.path) if p not in path_values]
    violations += [
        FieldViolation(f"params.{p}", "is required (it fills the path)") for p in missing
    ]
    if violations:
        raise InvalidArgument.from_violations(violations)
    path = fill_path(binding.path, path_values)
    if any(segment in (".", "..") for segment in path.split("/")):
        raise InvalidArgument.field("params", "the filled path has a '.' or '..' segment")
    payload: bytes | None = None
    if has_root or body:
        if binding.content_type == "application/x-www-form-urlencoded":
            form = root if has_root and isinstance(root, dict) else body
            payload = urlencode(
                [(k, _scalar(v)) for k, v in form.items() if v is not None], quote_via=quote
            ).encode()
        else:
            payload = json.dumps(root if has_root else body, separators=(",", ":")).encode()
        headers.append(("Content-Type", binding.content_type))
    return Request(binding.method, path, urlencode(query, quote_via=quote), headers, payload)
