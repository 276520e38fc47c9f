"""`access_level` on MCP session tokens (CreateMcpSessionToken's field): kept in the token,
shown in the answer, and enforced by the MCP server: tools/list, and a write tool's
tools/call answered `403` `insufficient_scope` at the edge (MCP authorization's scope
challenge)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from mcp.shared.exceptions import MCPError

from tests.mcp.test_server import MCP_HEADERS
from tests.support.mcp import mcp_session, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


def _token(api: httpx.Client, path: str, body: dict[str, object]) -> httpx.Response:
    return api.post(path, json={"identifier": "ada", **body})


async def test_read_only_token_on_a_full_config(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "ada")
        path = f"/api/v1/mcp/configs/{config['id']}/tokens"
        made = _token(api, path, {"access_level": "READ_ONLY", "expiry": "600s"})
        assert made.status_code == 200, made.text
        assert made.json()["access_level"] == "READ_ONLY"
        claims = jwt.decode(made.json()["token"], options={"verify_signature": False})
        assert claims["mcp_access"] == "READ_ONLY"
        full = _token(api, path, {}).json()
        assert full["access_level"] == "FULL"
        assert jwt.decode(full["token"], options={"verify_signature": False})["mcp_access"] == (
            "FULL"
        )
        conn_token = _token(
            api, f"/api/v1/mcp/connections/{conn}/tokens", {"access_level": "READ_ONLY"}
        )
        assert conn_token.json()["access_level"] == "READ_ONLY"
    async with mcp_session(config["mcp_server_url"], made.json()["token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"items_{unique}", f"status_{unique}"}  # erase_ is not read-only
        upstream.clear()
        with pytest.raises(MCPError) as refused:
            await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert refused.value.code == -32003
        assert refused.value.data["code"] == 7
        assert f"erase_{unique}" in refused.value.message and "mcp:write" in refused.value.message
        assert upstream.requests == []
        allowed = await session.call_tool(f"items_{unique}", {"owner": "x"})
        assert allowed.is_error is False
    # the FULL token of the same config, on the same process: every tool (no shared cache)
    async with mcp_session(config["mcp_server_url"], full["token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert f"erase_{unique}" in names
        upstream.clear()
        ran = await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert ran.is_error is False and upstream.requests[-1].method == "DELETE"
    # a connection URL's READ_ONLY token is held to the same rule
    conn_url = f"{server.url}/mcp/v3/connections/{conn}"
    async with mcp_session(conn_url, conn_token.json()["token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert f"erase_{unique}" not in names and f"items_{unique}" in names
        with pytest.raises(MCPError) as refused:
            await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert refused.value.code == -32003 and refused.value.data["code"] == 7
    # an MCP token never reaches the REST execute_tool (API tokens only)
    async with httpx.AsyncClient(base_url=server.url) as plain:
        answer = await plain.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"erase_{unique}", "params": {"owner": "x"}, "identifier": "ada"},
            headers={"Authorization": f"Bearer {made.json()['token']}"},
        )
    assert answer.status_code == 401


def test_bad_access_level_is_named(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "ada")
        for path in (
            f"/api/v1/mcp/configs/{config['id']}/tokens",
            f"/api/v1/mcp/connections/{conn}/tokens",
        ):
            values: list[object] = ["read_only", "NONE", 1, True, ["FULL"], {}]
            for value in values:
                bad = _token(api, path, {"access_level": value})
                assert bad.status_code == 400, (path, value)
                fields = {v["field"] for d in bad.json()["details"] for v in d["field_violations"]}
                assert fields == {"access_level"}
            both = api.post(path, json={"access_level": "X", "expiry": "1s", "q": 1})
            fields = {v["field"] for d in both.json()["details"] for v in d["field_violations"]}
            assert fields == {"access_level", "expiry", "identifier", "q"}
            empty = _token(api, path, {"access_level": ""})
            assert empty.status_code == 200 and empty.json()["access_level"] == "FULL"
        mismatch = _token(
            api, f"/api/v1/mcp/configs/{config['id']}/tokens", {"mcp_config_id": "cfg_other"}
        )
        assert mismatch.status_code == 400


async def test_write_call_with_read_only_token_is_a_scope_challenge(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """The exact 403 a READ_ONLY token gets for a write tool, seen raw: the JSON-RPC error
    with the request's id, and RFC 6750's challenge naming the scope that would do."""
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "ada")
        path = f"/api/v1/mcp/configs/{config['id']}/tokens"
        token = _token(api, path, {"access_level": "READ_ONLY"}).json()["token"]
        conn_token = _token(
            api, f"/api/v1/mcp/connections/{conn}/tokens", {"access_level": "READ_ONLY"}
        ).json()["token"]
    headers = {"Authorization": f"Bearer {token}", **MCP_HEADERS}
    call = {
        "jsonrpc": "2.0",
        "id": "call-7",
        "method": "tools/call",
        "params": {"name": f"erase_{unique}", "arguments": {"owner": "x"}},
    }
    upstream.clear()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        url = f"/mcp/v3/servers/{config['id']}"
        refused = await http.post(url, json=call, headers=headers)
        assert refused.status_code == 403, refused.text
        metadata = f"{server.url}/.well-known/oauth-protected-resource{url}"
        assert refused.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="mcp:read mcp:write", '
            f'resource_metadata="{metadata}", '
            f"error_description=\"tool 'erase_{unique}' is not read-only: it needs scope "
            'mcp:write"'
        )
        body = refused.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == "call-7"
        assert body["error"]["code"] == -32003 and body["error"]["data"]["code"] == 7
        assert f"erase_{unique}" in body["error"]["message"]
        # a body sent in pieces is read whole, once: the same answer
        pieces = json.dumps(call).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(pieces), 16):
                yield pieces[start : start + 16]

        chunked = await http.post(
            url, content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert chunked.status_code == 403 and chunked.json()["id"] == "call-7"
        # a read-only tool, an unknown one and other methods go on to the SDK
        read = {**call, "params": {"name": f"items_{unique}", "arguments": {"owner": "x"}}}
        allowed = await http.post(url, json=read, headers=headers)
        assert allowed.status_code == 200 and allowed.json()["result"]["isError"] is False
        unknown = {**call, "params": {"name": "nope", "arguments": {}}}
        answered = await http.post(url, json=unknown, headers=headers)
        assert answered.status_code == 200 and "nope" in answered.text
        assert "www-authenticate" not in answered.headers
        # a connection URL names its own metadata
        conn_url = f"/mcp/v3/connections/{conn}"
        conn_headers = {**headers, "Authorization": f"Bearer {conn_token}"}
        on_conn = await http.post(conn_url, json=call, headers=conn_headers)
        assert on_conn.status_code == 403
        conn_metadata = f"{server.url}/.well-known/oauth-protected-resource{conn_url}"
        assert f'resource_metadata="{conn_metadata}"' in on_conn.headers["www-authenticate"]
    assert len(upstream.requests) == 1  # only the read-only call ran
    assert upstream.requests[0].method != "DELETE"
