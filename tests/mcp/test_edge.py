"""The MCP URLs' edge against a running server: GET answered 405 (a flood of GETs holds no
request slot), refusals as JSON-RPC errors with RFC 6750 challenges, the access log and
metrics, null inputs, the token route named for connection URLs, Origin and CORS, batches."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import jwt
import pytest

from tests.mcp.test_server import INITIALIZE, MCP_HEADERS
from tests.support.keys import environment_id, server_signing_key
from tests.support.mcp import mcp_session, session_token, setup_config
from tests.support.servers import Server, create_client, start_server
from tests.support.tools import tool_body
from tests.support.upstream import RecordingUpstream

ALLOWED = "https://inspector.example"


@pytest.fixture(scope="module")
def edge_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on the same store with three request slots and one allowed browser origin."""
    started = start_server(
        server.backend,
        tmp_path_factory.mktemp("edge"),
        AUTHRELAY_MAX_REQUESTS_IN_FLIGHT="3",
        AUTHRELAY_MCP_ALLOWED_ORIGINS=f"{ALLOWED}, http://localhost:6274",
    )
    yield started
    started.stop()


def _config(
    srv: Server, upstream: RecordingUpstream, unique: str, who: str
) -> tuple[str, dict[str, Any], str]:
    """(connection, config, token for `who`) made through `srv`."""
    with srv.api(create_client(srv.backend, "dev")) as api:
        _, conn, config = setup_config(api, upstream, unique, who)
        return conn, config, session_token(api, config["id"], who)


def _post(url: str, token: str = "", body: Any = INITIALIZE, **headers: str) -> httpx.Response:
    sent = {**MCP_HEADERS, "Content-Type": "application/json", **headers}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.post(url, content=json.dumps(body), headers=sent, timeout=30)


def _rpc_error(response: httpx.Response, code: int) -> dict[str, Any]:
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, body
    assert error["data"]["message"] == error["message"]
    return error


async def test_get_is_405_and_a_flood_of_gets_starves_nothing(
    edge_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    _, config, token = _config(edge_server, upstream, unique, "gwen")
    url = config["mcp_server_url"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with AsyncExitStack() as stack, httpx.AsyncClient(timeout=10) as http:
        # ten GET streams held open by the client, over three slots: none may hold one
        opened = [
            await stack.enter_async_context(http.stream("GET", url, headers=headers))
            for _ in range(10)
        ]
        for response in opened:
            assert response.status_code == 405
            assert "POST" in response.headers["allow"]
            _rpc_error(httpx.Response(405, content=await response.aread()), -32005)
        for _ in range(5):
            ready = await http.get(f"{edge_server.url}/readyz")
            assert ready.status_code == 200, ready.text
        async with mcp_session(url, token) as session:
            assert len((await session.list_tools()).tools) == 3
        deleted = await http.delete(url, headers={"Authorization": f"Bearer {token}"})
        assert deleted.status_code == 405 and "POST" in deleted.headers["allow"]


def test_refusals_are_jsonrpc_errors_with_rfc6750_challenges(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "hana")
        token = session_token(api, config["id"], "hana")
    url = config["mcp_server_url"]
    metadata = url.replace("/mcp/", "/.well-known/oauth-protected-resource/mcp/", 1)
    missing = _post(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}"'
    error = _rpc_error(missing, -32001)
    assert error["data"]["code"] == 16 and "missing MCP token" in error["message"]
    for bad in ("garbage", _expired(server, config["mcp_server_url"], mcp_cfg=config["id"])):
        refused = _post(url, bad)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == (
            f'Bearer error="invalid_token", resource_metadata="{metadata}"'
        )
        assert _rpc_error(refused, -32001)["data"]["code"] == 16
    unknown = _post(f"{server.url}/mcp/v3/nothing/here", token)
    assert unknown.status_code == 404
    assert "no such MCP endpoint" in _rpc_error(unknown, -32004)["message"]
    with server.api(dev_client) as api:
        assert api.delete(f"/api/v1/mcp/configs/{config['id']}").status_code == 200
    gone = _post(url, token)
    assert gone.status_code == 404
    assert _rpc_error(gone, -32004)["data"]["code"] == 5
    # the metadata is not an MCP URL: its refusals keep the API's error body
    assert httpx.get(f"{server.url}/.well-known/oauth-protected-resource/x").json()["code"] == 5


def _expired(server: Server, audience: str, **claims: str) -> str:
    kid, key = server_signing_key(server.backend)
    now = int(time.time())
    body = {
        "iss": "authrelay",
        "typ": "authrelay-mcp",
        "aud": audience,
        "sub": "hana",
        "env": environment_id(server.backend, "dev"),
        "ca_ids": [],
        "iat": now - 600,
        "nbf": now - 600,
        "exp": now - 300,
        "jti": "x",
        **claims,
    }
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": kid})


def test_connection_urls_name_their_own_token_route(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, _ = setup_config(api, upstream, unique, "ivan")
    url = f"{server.url}/mcp/v3/connections/{conn}"
    route = f"/api/v1/mcp/connections/{conn}/tokens"
    metadata = httpx.get(
        f"{server.url}/.well-known/oauth-protected-resource/mcp/v3/connections/{conn}"
    )
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == url
    assert metadata.json()["authrelay_token_endpoint"] == server.url + route
    assert f"POST {route}" in _post(url).json()["error"]["message"]
    expired = _post(url, _expired(server, url, mcp_conn=conn))
    assert "expired" in expired.json()["error"]["message"]
    assert f"POST {route}" in expired.json()["error"]["message"]
    config_url = f"{server.url}/mcp/v3/servers/cfg_nope"
    assert (
        "POST /api/v1/mcp/configs/cfg_nope/tokens" in _post(config_url).json()["error"]["message"]
    )
    config_meta = httpx.get(
        f"{server.url}/.well-known/oauth-protected-resource/mcp/v3/servers/cfg_nope"
    ).json()
    assert (
        config_meta["authrelay_token_endpoint"]
        == f"{server.url}/api/v1/mcp/configs/cfg_nope/tokens"
    )


def _counts(srv: Server) -> dict[tuple[str, str, str], float]:
    text = httpx.get(f"{srv.url}/metrics").text
    found: dict[tuple[str, str, str], float] = {}
    pattern = (
        r'authrelay_http_requests_total\{method="(\w+)",route="([^"]*)",status="(\d+)"\} (\S+)'
    )
    for method, route, status, value in re.findall(pattern, text):
        found[method, route, status] = float(value)
    return found


def test_mcp_requests_are_logged_and_counted(
    edge_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    _, config, token = _config(edge_server, upstream, unique, "jude")
    url = config["mcp_server_url"]
    route = "/mcp/v3/servers/{config_id}"
    before = _counts(edge_server)
    answers = {
        "200": _post(url, token),
        "401": _post(url),
        "403": _post(url, token, Origin="https://evil.example"),
        "405": httpx.get(url, headers={"Authorization": f"Bearer {token}"}),
        "400": _post(url, token, [INITIALIZE]),
    }
    for status, response in answers.items():
        assert str(response.status_code) == status, response.text
    assert _post(f"{edge_server.url}/mcp/v3/nothing", token).status_code == 404
    after = _counts(edge_server)
    for status in answers:
        method = "GET" if status == "405" else "POST"
        key = (method, route, status)
        assert after.get(key, 0) - before.get(key, 0) == 1, (key, after)
    missing = ("POST", "unmatched", "404")
    assert after.get(missing, 0) - before.get(missing, 0) >= 1
    path = url.removeprefix(edge_server.url)
    log = edge_server.log_with(f'"path": "{path}"', '"status": 405')
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{") and path in x]
    statuses = {line["status"] for line in lines if line.get("logger") == "authrelay.access"}
    assert {200, 401, 403, 405, 400} <= statuses


async def test_null_inputs_reach_the_upstream_when_the_schema_allows_them(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, config = setup_config(api, upstream, unique, "kate")
        schema = {
            "type": "object",
            "properties": {
                "owner": {"type": "string"},
                "note": {"type": ["string", "null"]},
                "title": {"type": "string"},
                "limit": {"type": ["integer", "null"]},
                "trace": {"type": "string"},
            },
            "required": ["owner"],
        }
        body = tool_body(provider, f"nulls_{unique}", input_schema=schema)
        assert api.post("/api/v1/tools", json=body).status_code == 201
        token = session_token(api, config["id"], "kate")
    async with mcp_session(config["mcp_server_url"], token) as session:
        upstream.clear()
        result = await session.call_tool(
            f"nulls_{unique}", {"owner": "o", "note": None, "limit": None}
        )
        assert result.is_error is False, result
        seen = upstream.requests[-1]
        assert json.loads(seen.body) == {"note": None}
        assert seen.raw_path == "/api/owners/o/items"  # a null query input is left out
        upstream.clear()
        refused = await session.call_tool(f"nulls_{unique}", {"owner": "o", "title": None})
        assert refused.is_error is True
        assert "params.title" in refused.content[0].text  # type: ignore[union-attr]
        assert upstream.requests == []


def test_origin_cors_and_batches(
    edge_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    _, config, token = _config(edge_server, upstream, unique, "lena")
    url = config["mcp_server_url"]
    refused = _post(url, token, Origin="https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert "evil.example" in _rpc_error(refused, -32003)["message"]
    for origin in (ALLOWED, "http://localhost:6274", edge_server.url):
        allowed = _post(url, token, Origin=origin)
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == origin
        exposed = allowed.headers["access-control-expose-headers"].lower()
        assert "mcp-session-id" in exposed and "www-authenticate" in exposed
    # a browser client reads the challenge of a 401
    unauthenticated = _post(url, Origin=ALLOWED)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == ALLOWED
    preflight = httpx.options(
        url,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    for name in ("authorization", "mcp-session-id", "mcp-protocol-version", "content-type"):
        assert name in allowed_headers
    hostile = httpx.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert hostile.status_code == 403 and "access-control-allow-origin" not in hostile.headers
    # the RFC 9728 metadata is public: any origin reads it
    meta_url = url.replace("/mcp/", "/.well-known/oauth-protected-resource/mcp/", 1)
    meta = httpx.get(meta_url, headers={"Origin": "https://evil.example"})
    assert meta.status_code == 200 and meta.headers["access-control-allow-origin"] == "*"
    meta_preflight = httpx.options(meta_url, headers={"Origin": "https://any.example"})
    assert meta_preflight.status_code == 204
    assert meta_preflight.headers["access-control-allow-origin"] == "*"
    # JSON-RPC batches left MCP in 2025-06-18: a short error, whatever the body's size
    for body in ([INITIALIZE], [INITIALIZE] * 200):
        batch = _post(url, token, body)
        assert batch.status_code == 400
        error = _rpc_error(batch, -32600)
        assert (
            error["message"] == "JSON-RPC batches are not supported: send one message per request"
        )
    batch = httpx.post(
        url,
        content=b"  \n [" + json.dumps(INITIALIZE).encode() + b"]",
        headers={
            **MCP_HEADERS,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    assert batch.status_code == 400
    assert _post(url, token).status_code == 200  # one message still works
