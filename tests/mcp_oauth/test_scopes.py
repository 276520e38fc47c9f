"""Scopes of the MCP authorization server (docs/mcp-authorization.md, "Scopes"): `mcp:read`
alone signs in READ_ONLY (read-only tools listed, a write tool's call answered `403`
`insufficient_scope`), no scope is both (FULL), an unknown scope is `invalid_scope`, a
refresh may narrow the scope but never widen it, and both metadata documents list them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.mcp import mcp_session, setup_config
from tests.support.mcp_oauth_flow import REDIRECT, Flow, query
from tests.support.mcp_oauth_team import SignInEnv, TeamApp, running, sign_in_environment
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
async def setup(
    server: Server, upstream: RecordingUpstream, unique: str
) -> AsyncIterator[tuple[Flow, TeamApp, SignInEnv, dict[str, Any]]]:
    """(flow with a registered client, team app, environment, a config serving items_,
    status_ (read-only) and erase_ (not))."""
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"sc-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register()
        yield flow, team, env, config


def _access(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["mcp_access"])


async def _tokens(flow: Flow, team: TeamApp, **overrides: str) -> dict[str, Any]:
    code, verifier = await flow.code(team, **overrides)
    answer = await flow.exchange(code, verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_metadata_lists_the_scopes(
    server: Server, setup: tuple[Flow, TeamApp, SignInEnv, dict[str, Any]]
) -> None:
    flow, _, env, config = setup
    issuer_path = env.issuer[len(server.url) :]
    rfc8414 = await flow.http.get(
        f"{server.url}/.well-known/oauth-authorization-server{issuer_path}"
    )
    assert rfc8414.status_code == 200, rfc8414.text
    assert rfc8414.json()["scopes_supported"] == ["mcp:read", "mcp:write"]
    resource_path = config["mcp_server_url"][len(server.url) :]
    rfc9728 = await flow.http.get(
        f"{server.url}/.well-known/oauth-protected-resource{resource_path}"
    )
    assert rfc9728.status_code == 200, rfc9728.text
    assert rfc9728.json()["scopes_supported"] == ["mcp:read", "mcp:write"]


async def test_unknown_scope_is_refused_at_authorize(
    setup: tuple[Flow, TeamApp, SignInEnv, dict[str, Any]],
) -> None:
    flow = setup[0]
    for scope in ("mcp:admin", "mcp:read tools:all"):
        answer = await flow.authorize(scope=scope)
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert location.startswith(REDIRECT)
        got = query(location)
        assert got["error"] == "invalid_scope" and got["state"] == "st-1"
        assert scope.split()[-1] in got["error_description"]


async def test_read_scope_signs_in_read_only(
    server: Server,
    setup: tuple[Flow, TeamApp, SignInEnv, dict[str, Any]],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    flow, team, _, config = setup
    # the OpenID Connect and offline_access names hosts add are ignored (RFC 6749 section 3.3)
    body = await _tokens(flow, team, scope="openid mcp:read offline_access")
    assert body["scope"] == "mcp:read" and _access(body["access_token"]) == "READ_ONLY"
    url = config["mcp_server_url"]
    upstream.clear()
    async with mcp_session(url, body["access_token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"items_{unique}", f"status_{unique}"}
        with pytest.raises(MCPError) as refused:
            await session.call_tool(f"erase_{unique}", {"owner": "x"})
        assert refused.value.code == -32003 and refused.value.data["code"] == 7
        ran = await session.call_tool(f"items_{unique}", {"owner": "x"})
        assert ran.is_error is False
    call = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": f"erase_{unique}", "arguments": {"owner": "x"}},
    }
    headers = {"Authorization": f"Bearer {body['access_token']}", **MCP_HEADERS}
    raw = await flow.http.post(url, json=call, headers=headers)
    assert raw.status_code == 403 and raw.json()["id"] == 9
    challenge = raw.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", scope="mcp:read mcp:write", ')
    metadata = f"{server.url}/.well-known/oauth-protected-resource{url[len(server.url) :]}"
    assert f'resource_metadata="{metadata}"' in challenge
    assert "DELETE" not in [r.method for r in upstream.requests]

    # a refresh keeps the scope; a wider or unknown one is refused, and spends nothing
    for wider in ("mcp:read mcp:write", "mcp:write", "mcp:admin"):
        refused_refresh = await flow.token(
            grant_type="refresh_token", refresh_token=body["refresh_token"], scope=wider
        )
        assert refused_refresh.status_code == 400, refused_refresh.text
        assert refused_refresh.json()["error"] == "invalid_scope"
    again = await flow.refresh(body["refresh_token"])
    assert again.status_code == 200, again.text
    assert again.json()["scope"] == "mcp:read"
    assert _access(again.json()["access_token"]) == "READ_ONLY"


async def test_no_scope_is_full_and_a_refresh_may_narrow_it(
    setup: tuple[Flow, TeamApp, SignInEnv, dict[str, Any]], unique: str
) -> None:
    flow, team, _, config = setup
    body = await _tokens(flow, team)
    assert body["scope"] == "mcp:read mcp:write" and _access(body["access_token"]) == "FULL"
    async with mcp_session(config["mcp_server_url"], body["access_token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert f"erase_{unique}" in names
    narrower = await flow.token(
        grant_type="refresh_token", refresh_token=body["refresh_token"], scope="mcp:read"
    )
    assert narrower.status_code == 200, narrower.text
    narrowed = narrower.json()
    assert narrowed["scope"] == "mcp:read" and _access(narrowed["access_token"]) == "READ_ONLY"
    # the new refresh token keeps the scope granted (RFC 6749 §6)
    back = await flow.refresh(narrowed["refresh_token"])
    assert back.status_code == 200, back.text
    assert back.json()["scope"] == "mcp:read mcp:write"
    assert _access(back.json()["access_token"]) == "FULL"
    # `mcp:write` alone is FULL too; the order and repetition of names do not matter
    write = await _tokens(flow, team, scope="mcp:write mcp:write")
    assert write["scope"] == "mcp:write" and _access(write["access_token"]) == "FULL"
    both = await _tokens(flow, team, scope="mcp:write mcp:read")
    assert both["scope"] == "mcp:read mcp:write"
