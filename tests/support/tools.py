"""Tools over a real provider whose proxy_url points at the recording upstream."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.proxy import enable
from tests.support.upstream import RecordingUpstream, provider_definition


def tool_body(provider: str, name: str, **binding: Any) -> dict[str, Any]:
    schema = binding.pop(
        "input_schema",
        {
            "type": "object",
            "properties": {
                "owner": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1},
                "title": {"type": "string"},
                "trace": {"type": "string"},
            },
            "required": ["owner"],
        },
    )
    return {
        "provider": provider,
        "definition": {
            "name": name,
            "description": binding.pop("description", "Read the items of one owner"),
            "input_schema": schema,
            "annotations": {"read_only_hint": True},
        },
        "binding": {
            "method": binding.pop("method", "POST"),
            "path": binding.pop("path", "/owners/{owner}/items"),
            "params": binding.pop(
                "params",
                {
                    "owner": {"in": "path"},
                    "limit": {"in": "query", "name": "per_page"},
                    "trace": {"in": "header", "name": "X-Trace"},
                },
            ),
            **binding,
        },
        "tags": ["test"],
        "metadata": {"category": "items"},
    }


def status_tool(provider: str, name: str) -> dict[str, Any]:
    return tool_body(
        provider,
        name,
        method="GET",
        path="/status/{code}",
        params={"code": {"in": "path"}},
        input_schema={
            "type": "object",
            "properties": {"code": {"type": "integer"}},
            "required": ["code"],
        },
    )


def setup_provider(
    api: httpx.Client, upstream: RecordingUpstream, unique: str, who: str
) -> tuple[str, str, dict[str, Any]]:
    """(provider identifier, connection name, connected account) with an API key."""
    definition = provider_definition(
        f"Tools {unique}", upstream, type="API_KEY", auth_header_key_override="X-Api-Key"
    )
    definition["proxy_enabled"] = True
    conn = f"tools-{unique}"
    account = enable(api, definition, conn, who, {"api_key": "k-secret-1"})
    return f"tools{unique}", conn, account
