"""MCP `tools/call` lands in the tool-call log (docs/tools.md, "Tool call logs"): a success
and a refused call, each with source MCP, listed after the background flush."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.mcp import mcp_session, session_token, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

LOGS = "/api/v1/agentkit/tool_call_logs"


async def test_mcp_tool_calls_are_logged(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, config = setup_config(api, upstream, unique, "mia")
        token = session_token(api, config["id"], "mia")
    async with mcp_session(config["mcp_server_url"], token) as session:
        ok = await session.call_tool(f"items_{unique}", {"owner": "octo"})
        assert ok.is_error is False
        failed = await session.call_tool(f"status_{unique}", {"code": 409})
        assert failed.is_error is True
    execution_id = (ok.meta or {})["execution_id"]
    query = {"connection_name": conn, "source": "MCP"}
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    with server.api(dev_client) as api:
        while time.monotonic() < deadline:
            body = api.get(LOGS, params=query).json()
            if len(body["tool_call_logs"]) >= 2:
                break
            await asyncio.sleep(0.05)
    conflict, success = body["tool_call_logs"]
    assert body["total_size"] == 2
    assert success["execution_id"] == execution_id and success["status"] == "SUCCESS"
    assert success["source"] == "MCP" and success["identifier"] == "mia"
    assert success["tool_name"] == f"items_{unique}" and success["provider"] == provider
    assert conflict["status"] == "ERROR" and conflict["error_tier"] == "PROVIDER"
    assert conflict["error_code"] == "ALREADY_EXISTS" and conflict["upstream_status"] == 409
