"""`tools/list` is answered from the wire form the SDK made of it before (mcp/server.py,
`_cached_list`), kept until the cache generation moves: the answers stay those of the SDK,
per protocol version; changes show at once; requests the cache does not serve (a cursor,
bad params) take the SDK's path."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.mcp import mcp_session, session_token, setup_config
from tests.support.servers import Server
from tests.support.tools import tool_body
from tests.support.upstream import RecordingUpstream

HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


def _rpc(url: str, token: str, params: Any, request_id: int) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}
    if params is not None:
        body["params"] = params
    response = httpx.post(
        url, json=body, headers={**HEADERS, "Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["id"] == request_id
    return answer


async def test_cached_tools_list_is_the_sdk_answer_and_follows_changes(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, config = setup_config(api, upstream, unique, "lister")
        url, config_id = config["mcp_server_url"], config["id"]
        token = session_token(api, config_id, "lister")

        first = _rpc(url, token, None, 1)  # made by the SDK, then kept
        again = _rpc(url, token, {}, 2)  # from the cache
        with_cursor = _rpc(url, token, {"cursor": "x"}, 3)  # the SDK's path
        assert first["result"] == again["result"] == with_cursor["result"]
        names = {t["name"] for t in first["result"]["tools"]}
        assert names == {f"items_{unique}", f"erase_{unique}", f"status_{unique}"}

        bad = _rpc(url, token, {"_meta": 5}, 4)  # not served from the cache: refused
        assert "error" in bad and "result" not in bad

        # the 2026 protocol of the 2.x SDK client, twice: the same tools both times
        async with mcp_session(url, token) as session:
            listed = [(await session.list_tools()).tools for _ in range(2)]
        assert listed[0] == listed[1]
        assert {t.name for t in listed[0]} == names

        created = api.post("/api/v1/tools", json=tool_body(provider, f"more_{unique}"))
        assert created.status_code == 201
        grown = _rpc(url, token, {}, 5)
        assert {t["name"] for t in grown["result"]["tools"]} == names | {f"more_{unique}"}
        async with mcp_session(url, token) as session:
            assert f"more_{unique}" in {t.name for t in (await session.list_tools()).tools}

        # a config change (read-only now) is seen at once as well
        put = api.put(
            f"/api/v1/mcp/configs/{config_id}",
            json={**config, "access_level": "READ_ONLY"},
        )
        assert put.status_code == 200, put.text
        narrowed = _rpc(url, token, {}, 6)
        assert f"erase_{unique}" not in {t["name"] for t in narrowed["result"]["tools"]}
