"""`access_level` on MCP session tokens (CreateMcpSessionToken's field): kept in the token,
shown in the answer, and enforced by the MCP server (tools/list) and `execute_tool`."""

from __future__ import annotations

import json

import httpx
import jwt

from tests.mcp.helpers import mcp_session, setup_config
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
        refused = await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert refused.is_error is True
        body = json.loads(refused.content[0].text)  # type: ignore[union-attr]
        assert body["code"] == 7 and f"erase_{unique}" in body["message"]
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
        refused = await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert refused.is_error is True
        assert json.loads(refused.content[0].text)["code"] == 7  # type: ignore[union-attr]
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
