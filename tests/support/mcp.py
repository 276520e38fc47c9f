"""An MCP config over a real provider whose proxy_url points at the recording upstream, and
the official `mcp` SDK's client talking to the running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.tools import setup_provider, status_tool, tool_body
from tests.support.upstream import RecordingUpstream


def write_tool(provider: str, name: str) -> dict[str, Any]:
    body = tool_body(provider, name, method="DELETE", path="/owners/{owner}")
    body["definition"]["annotations"] = {"read_only_hint": False, "destructive_hint": True}
    body["binding"]["params"] = {"owner": {"in": "path"}}
    body["definition"]["input_schema"] = {
        "type": "object",
        "properties": {"owner": {"type": "string"}},
        "required": ["owner"],
    }
    return body


def setup_config(
    api: httpx.Client,
    upstream: RecordingUpstream,
    unique: str,
    who: str,
    access_level: str = "FULL",
) -> tuple[str, str, dict[str, Any]]:
    """(provider, connection, config) with three tools: items_, erase_ and status_{unique}."""
    provider, conn, _ = setup_provider(api, upstream, unique, who)
    for body in (
        tool_body(provider, f"items_{unique}"),
        write_tool(provider, f"erase_{unique}"),
        status_tool(provider, f"status_{unique}"),
    ):
        created = api.post("/api/v1/tools", json=body)
        assert created.status_code == 201, created.text
    response = api.post(
        "/api/v1/mcp/configs",
        json={
            "name": f"cfg-{unique}-{access_level.lower()}",
            "description": "test config",
            "access_level": access_level,
            "connection_tool_mappings": [{"connection_name": conn}],
        },
    )
    assert response.status_code == 201, response.text
    return provider, conn, response.json()["config"]


def session_token(api: httpx.Client, config_id: str, who: str, expiry: str = "600s") -> str:
    response = api.post(
        f"/api/v1/mcp/configs/{config_id}/tokens", json={"identifier": who, "expiry": expiry}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@asynccontextmanager
async def mcp_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session
