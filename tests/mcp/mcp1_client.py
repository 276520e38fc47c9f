"""Run by an `mcp` 1.x interpreter (its own virtual environment, see test_mcp1_client.py):
connects to URL with TOKEN, lists the tools, calls TOOL with ARGS (JSON), and prints what it
saw as one JSON line. Also tries once without a token and reports the failure."""

import asyncio
import json
import sys

import httpx
from mcp.client.streamable_http import streamablehttp_client

import mcp
from mcp import ClientSession


async def main(url: str, token: str, tool: str, args: dict) -> dict:
    out: dict = {"version": getattr(mcp, "__version__", "")}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        streamablehttp_client(url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        out["protocol"] = init.protocolVersion
        listed = await session.list_tools()
        out["tools"] = {
            t.name: {
                "schema": t.inputSchema,
                "read_only": t.annotations.readOnlyHint if t.annotations else None,
            }
            for t in listed.tools
        }
        result = await session.call_tool(tool, args)
        out["call"] = {
            "is_error": result.isError,
            "structured": result.structuredContent,
            "text": result.content[0].text if result.content else "",
        }
    async with httpx.AsyncClient() as http:
        refused = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        out["unauthenticated"] = {
            "status": refused.status_code,
            "challenge": refused.headers.get("www-authenticate", ""),
        }
    return out


if __name__ == "__main__":
    url, token, tool, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    print(json.dumps(asyncio.run(main(url, token, tool, args))))
