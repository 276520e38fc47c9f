"""The MCP server end to end: the official `mcp` SDK's client against a running server,
tools called against a recording upstream, and every error path."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.keys import environment_id, server_signing_key
from tests.support.mcp import mcp_session, session_token, setup_config
from tests.support.servers import Server, create_client
from tests.support.tools import tool_body
from tests.support.upstream import RecordingUpstream


async def test_sdk_client_lists_and_calls_tools(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "alice")
        url = config["mcp_server_url"]
        assert url == f"{server.url}/mcp/v3/servers/{config['id']}"
        token = session_token(api, config["id"], "alice")
    async with mcp_session(url, token) as session:
        listed = await session.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert set(tools) == {f"items_{unique}", f"erase_{unique}", f"status_{unique}"}
        items = tools[f"items_{unique}"]
        assert items.input_schema["required"] == ["owner"]
        assert items.annotations is not None and items.annotations.read_only_hint is True
        erase = tools[f"erase_{unique}"].annotations
        assert erase is not None and erase.destructive_hint is True
        upstream.clear()
        result = await session.call_tool(
            f"items_{unique}", {"owner": "a b", "limit": 2, "title": "hi"}
        )
        assert result.is_error is False, result
        seen = upstream.requests[-1]
        assert seen.method == "POST" and seen.raw_path == "/api/owners/a%20b/items?per_page=2"
        assert seen.header("X-Api-Key") == "k-secret-1"
        assert json.loads(seen.body) == {"title": "hi"}
        assert result.structured_content is not None
        assert result.structured_content["path"] == "/api/owners/a%20b/items?per_page=2"
        assert json.loads(result.content[0].text)["path"] == seen.raw_path  # type: ignore[union-attr]


async def test_tool_errors(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "bob")
        url = config["mcp_server_url"]
        bob = session_token(api, config["id"], "bob")
        carol = session_token(api, config["id"], "carol")
    async with mcp_session(url, bob) as session:
        with pytest.raises(MCPError) as unknown:
            await session.call_tool(f"nope_{unique}", {})
        assert "unknown tool" in str(unknown.value)
        upstream.clear()
        wrong = await session.call_tool(f"items_{unique}", {"limit": 0, "extra": 1})
        assert wrong.is_error is True
        text = wrong.content[0].text  # type: ignore[union-attr]
        assert "params.owner" in text and "params.limit" in text
        assert upstream.requests == []
        for code in (404, 422, 500, 503):
            failed = await session.call_tool(f"status_{unique}", {"code": code})
            assert failed.is_error is True
            body = json.loads(failed.content[0].text)  # type: ignore[union-attr]
            detail = body["details"][-1]
            assert detail["source"] == "upstream" and detail["status"] == code
            assert detail["body"] == {"upstream_error": True}
    # carol has no account: the error carries an authorization link; the link makes a
    # pending account, and the next call says so, with a fresh link
    async with mcp_session(url, carol) as session:
        upstream.clear()
        first = await session.call_tool(f"items_{unique}", {"owner": "x"})
        assert first.is_error is True
        text = first.content[0].text  # type: ignore[union-attr]
        assert "has no connected account" in text and f"{server.url}/connect/" in text
        second = await session.call_tool(f"items_{unique}", {"owner": "x"})
        assert second.is_error is True
        again = second.content[0].text  # type: ignore[union-attr]
        assert "is PENDING_AUTH" in again and f"{server.url}/connect/" in again
        assert again.split("/connect/")[1] != text.split("/connect/")[1]
        assert upstream.requests == []
    with server.api(dev_client) as api:
        state = api.post(
            f"/api/v1/mcp/configs/{config['id']}/connected_accounts",
            json={"identifier": "carol"},
        )
        assert state.status_code == 200, state.text
        (entry,) = state.json()["connected_accounts"]
        assert entry["connection_name"] == conn
        assert entry["connected_account_status"] == "PENDING_AUTH"
        assert entry["authentication_link"] == ""


async def test_read_only_config_lists_only_read_only_tools(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "dora", access_level="READ_ONLY")
        assert config["access_level"] == "READ_ONLY"
        token = session_token(api, config["id"], "dora")
    async with mcp_session(config["mcp_server_url"], token) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"items_{unique}", f"status_{unique}"}
        upstream.clear()
        with pytest.raises(MCPError):
            await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert upstream.requests == []


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def test_tokens_are_checked_on_every_request(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "erin")
        _, _, other = setup_config(api, upstream, unique + "b", "erin")
        mine = session_token(api, config["id"], "erin")
        api_token = api.headers["Authorization"].split()[1]
    url = config["mcp_server_url"]
    path = url.removeprefix(server.url)
    metadata_url = f"{server.url}/.well-known/oauth-protected-resource{path}"

    def post(token: str | None, target: str = url) -> httpx.Response:
        headers = dict(MCP_HEADERS)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(target, json=INITIALIZE, headers=headers, timeout=30)

    for token in (None, "garbage", api_token, session_token_for(server, dev_client, other)):
        refused = post(token)
        assert refused.status_code == 401, (token, refused.text)
        challenge = refused.headers["www-authenticate"]
        error = 'error="invalid_token", ' if token else ""
        assert challenge == f'Bearer {error}resource_metadata="{metadata_url}"'
        assert refused.json()["error"]["data"]["code"] == 16
    assert "API tokens are not accepted" in post(api_token).json()["error"]["message"]
    other_token = session_token_for(server, dev_client, other)
    assert "is not for" in post(other_token).json()["error"]["message"]
    metadata = httpx.get(metadata_url)
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == url
    assert metadata.json()["bearer_methods_supported"] == ["header"]
    assert (
        httpx.get(f"{server.url}/.well-known/oauth-protected-resource/mcp/v3/x").status_code == 404
    )
    # an MCP token is not an API token either
    assert (
        httpx.get(
            f"{server.url}/api/v1/tools", headers={"Authorization": f"Bearer {mine}"}
        ).status_code
        == 401
    )
    accepted = post(mine)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["result"]["serverInfo"]["name"] == "authrelay"
    # expired: signed by the server's own key, past its expiry
    assert post(expired_token(server, config, "erin")).status_code == 401
    assert "expired" in post(expired_token(server, config, "erin")).json()["error"]["message"]
    # a deleted config's URL no longer answers, even with a valid token
    with server.api(dev_client) as api:
        assert api.delete(f"/api/v1/mcp/configs/{config['id']}").status_code == 200
    gone = post(mine)
    assert gone.status_code == 404


def session_token_for(server: Server, client: dict[str, str], config: dict[str, str]) -> str:
    with server.api(client) as api:
        return session_token(api, config["id"], "erin")


def expired_token(server: Server, config: dict[str, str], who: str) -> str:
    kid, key = server_signing_key(server.backend)
    now = int(time.time())
    claims = {
        "iss": "authrelay",
        "typ": "authrelay-mcp",
        "aud": config["mcp_server_url"],
        "sub": who,
        "env": environment_id(server.backend, "dev"),
        "mcp_cfg": config["id"],
        "ca_ids": [],
        "iat": now - 600,
        "nbf": now - 600,
        "exp": now - 300,
        "jti": "x",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


async def test_timeout_and_disconnected_account(
    server: Server, strict_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    client = create_client(strict_server.backend, "dev")
    with strict_server.api(client) as api:
        provider, _, config = setup_config(api, upstream, unique, "gil")
        slow = tool_body(
            provider,
            f"slow_{unique}",
            method="GET",
            path="/slow",
            params={"s": {"in": "query"}},
            input_schema={"type": "object", "properties": {"s": {"type": "string"}}},
        )
        assert api.post("/api/v1/tools", json=slow).status_code == 201
        token = session_token(api, config["id"], "gil")
        account = api.get(
            "/api/v1/connected_accounts",
            params={
                "connector": config["connection_tool_mappings"][0]["connection_name"],
                "identifier": "gil",
            },
        ).json()["connected_accounts"][0]
    async with mcp_session(config["mcp_server_url"], token) as session:
        timed_out = await session.call_tool(f"slow_{unique}", {"s": "3"})
        assert timed_out.is_error is True
        assert json.loads(timed_out.content[0].text)["code"] == 4  # type: ignore[union-attr]
    with strict_server.api(client) as api:
        done = api.post(f"/api/v1/connected_accounts/{account['id']}:disconnect")
        assert done.status_code == 200, done.text
        status = done.json()["connected_account"]["status"]
    async with mcp_session(config["mcp_server_url"], token) as session:
        upstream.clear()
        inactive = await session.call_tool(f"items_{unique}", {"owner": "x"})
        assert inactive.is_error is True
        text = inactive.content[0].text  # type: ignore[union-attr]
        assert f"is {status}" in text and f"{strict_server.url}/connect/" in text
        assert upstream.requests == []
