"""Built-in tools: shipped as JSON next to the provider catalog
(`providers/catalog/tools/{provider}.json`), loaded and validated once per process, and
merged into every environment's tools by `store.tools` (read-only: they cannot be replaced or
deleted, and a custom tool cannot take their names). They live in `store/` because they are
rows of the tools table that happen to live in memory; they are checked by the tools' own
validator (`tools.model`, a layer below).

A file is `{"provider": "github", "docs": URL, "tools": [tool, …]}`, each tool as
`POST /api/v1/tools` takes it without `provider`. Each tool gets `metadata.docs` (the page it
follows: its own `metadata.docs`, else the file's), a stable id from its name, and a negative
`seq`, so built-in tools come first in keyset pages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from authrelay.errors import InvalidArgument
from authrelay.store.models import Tool
from authrelay.store.tool_rows import new_row
from authrelay.tools.model import validate_tool
from authrelay_client.wire import JSONObject

SOURCE = "builtin"
BUILTIN_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
# When the shipped set last changed; shown as `updated_at`.
UPDATED_AT = datetime(2026, 12, 2, tzinfo=UTC)


class BuiltinToolError(Exception):
    """Raised at start when a shipped tool file is invalid."""


def builtin_tool_id(name: str) -> str:
    return "tol_" + hashlib.sha256(f"builtin:{name}".encode()).hexdigest()[:24]


def parse_tool_file(file_name: str, data: Any) -> list[JSONObject]:
    """The tools of one file as `POST /api/v1/tools` bodies (with `provider`), each checked
    by the same validator as a hand-written tool and by the built-in naming rule."""
    if not isinstance(data, dict) or not isinstance(data.get("tools"), list):
        raise BuiltinToolError(f"{file_name}: expected {{provider, docs, tools: [...]}}")
    provider, docs = data.get("provider"), data.get("docs")
    if not isinstance(provider, str) or file_name != f"{provider}.json":
        raise BuiltinToolError(f"{file_name}: provider must match the file name")
    if not isinstance(docs, str) or not docs.startswith("https://"):
        raise BuiltinToolError(f"{file_name}: docs must be the https URL of the API reference")
    bodies: list[JSONObject] = []
    for index, item in enumerate(data["tools"]):
        if not isinstance(item, dict):
            raise BuiltinToolError(f"{file_name}: tools[{index}] is not an object")
        metadata = {"docs": docs, **item.get("metadata", {})}
        body = {**item, "provider": provider, "metadata": metadata}
        try:
            tool = validate_tool(body)
        except InvalidArgument as exc:
            problems = "; ".join(f"{v.field}: {v.description}" for v in exc.violations)
            raise BuiltinToolError(f"{file_name}: tools[{index}]: {problems}") from exc
        name = tool.definition.name
        if not BUILTIN_NAME.match(name) or not name.startswith(f"{provider}_"):
            raise BuiltinToolError(f"{file_name}: {name!r} must be {provider}_<operation>")
        bodies.append(body)
    return bodies


def _row(body: JSONObject, seq: int) -> Tool:
    tool = validate_tool(body)
    tool_id = builtin_tool_id(tool.definition.name)
    row = new_row(tool, tool_id, "", tool.provider, SOURCE, UPDATED_AT)
    row.seq = seq
    return row


@cache
def builtin_tools() -> tuple[Tool, ...]:
    """Every shipped tool, in file then list order (not attached to any session)."""
    folder = resources.files("authrelay.providers") / "catalog" / "tools"
    bodies: list[JSONObject] = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            try:
                data = json.loads(item.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise BuiltinToolError(f"{item.name}: invalid JSON ({exc})") from exc
            bodies += parse_tool_file(item.name, data)
    names = [b["definition"]["name"] for b in bodies]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BuiltinToolError(f"built-in tool names repeat: {', '.join(dupes)}")
    return tuple(_row(body, index - len(bodies)) for index, body in enumerate(bodies))


@cache
def _by_name() -> dict[str, Tool]:
    return {row.name: row for row in builtin_tools()}


@cache
def _by_id() -> dict[str, Tool]:
    return {row.id: row for row in builtin_tools()}


def builtin_by_name(name: str) -> Tool | None:
    return _by_name().get(name)


def builtin_by_id(tool_id: str) -> Tool | None:
    return _by_id().get(tool_id)


def select_builtin(
    providers: Sequence[str] = (), names: Sequence[str] = (), after_seq: int | None = None
) -> list[Tool]:
    """The built-in tools that pass the listing filters, in `seq` order."""
    wanted, named = set(providers), set(names)
    return [
        row
        for row in builtin_tools()
        if (not wanted or row.provider_identifier in wanted)
        and (not named or row.name in named)
        and (after_seq is None or row.seq > after_seq)
    ]


def is_builtin(row: Tool) -> bool:
    return row.source == SOURCE
