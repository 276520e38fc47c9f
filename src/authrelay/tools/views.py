"""How a stored tool looks on the wire: Scalekit's `toolsTool`, and authrelay's full view
(the same plus the binding and where the tool came from)."""

from __future__ import annotations

from authrelay.store.db import as_utc
from authrelay.store.models import Tool
from authrelay_client.wire import ToolBody, ToolRequest


def _ts(row: Tool) -> str:
    return as_utc(row.updated_at).isoformat().replace("+00:00", "Z")


def tool_json(row: Tool) -> ToolBody:
    """Scalekit's `toolsTool`: `provider` upper-case, as Scalekit shows it."""
    return {
        "id": row.id,
        "provider": row.provider_identifier.upper(),
        "definition": row.definition,
        "metadata": row.tool_metadata or {},
        "tags": row.tags or [],
        "is_default": bool(row.is_default),
        "updated_at": _ts(row),
    }


def full_json(row: Tool) -> ToolBody:
    """`toolsTool` plus `binding` and `source` (api, file, openapi, promote)."""
    return {**tool_json(row), "binding": row.binding, "source": row.source}


def input_json(row: Tool) -> ToolRequest:
    """The tool as `POST /api/v1/tools` takes it (used to copy and compare tools)."""
    return {
        "provider": row.provider_identifier,
        "definition": row.definition,
        "binding": row.binding,
        "metadata": row.tool_metadata or {},
        "tags": row.tags or [],
    }
