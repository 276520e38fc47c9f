"""Tokens of the MCP authorization server: the access token opens exactly its MCP URL,
refresh tokens rotate and a reused one ends the grant, revocation, replayed codes, PKCE."""

from __future__ import annotations

import asyncio

from tests.support.mcp_oauth_flow import Flow
from tests.support.mcp_oauth_team import (
    SignInEnv,
    TeamApp,
)
from tests.support.rawdb import rows
from tests.support.servers import Server

PING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def test_access_token_opens_only_its_mcp_url(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, other_url = setup
    code, verifier = await flow.code(team)
    answer = await flow.exchange(code, verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert answer.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}", **MCP_HEADERS}
    ok = await flow.http.post(flow.resource, json=PING, headers=bearer)
    assert ok.status_code == 200, ok.text
    # alice's token for one config is refused on another config's URL (audience)
    refused = await flow.http.post(other_url, json=PING, headers=bearer)
    assert refused.status_code == 401
    assert "resource_metadata" in refused.headers["www-authenticate"]


async def test_refresh_rotation_and_reuse_detection(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, _ = setup
    code, verifier = await flow.code(team)
    first = (await flow.exchange(code, verifier)).json()["refresh_token"]
    rotated = await flow.refresh(first)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first and second.startswith("mcprt_")
    assert rotated.json()["access_token"]
    reused = await flow.refresh(first)  # a copy of the used one: the grant ends
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    after = await flow.refresh(second)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


async def test_refresh_needs_its_resource_and_client(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, other_url = setup
    code, verifier = await flow.code(team)
    refresh = (await flow.exchange(code, verifier)).json()["refresh_token"]
    wrong = await flow.token(grant_type="refresh_token", refresh_token=refresh, resource=other_url)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_target"
    stranger = await flow.token(
        grant_type="refresh_token", refresh_token=refresh, client_id="mcpc_someone-else"
    )
    assert stranger.json()["error"] == "invalid_grant"
    assert (await flow.refresh(refresh)).status_code == 200  # neither attempt used it


async def test_revocation(setup: tuple[Flow, TeamApp, SignInEnv, str]) -> None:
    flow, team, env, _ = setup
    code, verifier = await flow.code(team)
    refresh = (await flow.exchange(code, verifier)).json()["refresh_token"]
    revoke = f"{env.issuer}/revoke"
    gone = await flow.http.post(revoke, data={"token": refresh, "client_id": flow.client_id})
    assert gone.status_code == 200
    assert (await flow.refresh(refresh)).json()["error"] == "invalid_grant"
    unknown = await flow.http.post(revoke, data={"token": "mcprt_never-issued"})
    assert unknown.status_code == 200  # RFC 7009 §2.2
    missing = await flow.http.post(revoke, data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_code_replayed_revokes_what_it_gave(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, _ = setup
    code, verifier = await flow.code(team)
    first = await flow.exchange(code, verifier)
    assert first.status_code == 200
    again = await flow.exchange(code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refreshed = await flow.refresh(first.json()["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_pkce_and_resource_checked_at_the_token_endpoint(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, other_url = setup
    code, verifier = await flow.code(team)
    mismatch = await flow.exchange(code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"
    other = await flow.token(
        grant_type="authorization_code", code=code, code_verifier=verifier, resource=other_url
    )
    assert other.json()["error"] == "invalid_target"
    assert (await flow.exchange(code, verifier)).status_code == 200  # still unused
    bad_grant = await flow.token(grant_type="password")
    assert bad_grant.json()["error"] == "unsupported_grant_type"
    twice = await flow.http.post(
        f"{flow.env.issuer}/token",
        content=b"grant_type=a&grant_type=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.json()["error"] == "invalid_request"


async def test_secrets_are_not_stored_or_logged(
    setup: tuple[Flow, TeamApp, SignInEnv, str], server: Server
) -> None:
    flow, team, _, _ = setup
    code, verifier = await flow.code(team)
    answer = (await flow.exchange(code, verifier)).json()
    refreshed = (await flow.refresh(answer["refresh_token"])).json()
    found = await asyncio.to_thread(
        rows,
        server.backend,
        ["mcp_oauth_settings", "mcp_oauth_requests", "mcp_oauth_refresh_tokens"],
    )
    dumped = repr(found)
    assert found["mcp_oauth_refresh_tokens"] and found["mcp_oauth_settings"]
    log = server.log_text()
    for secret in (team.secret, code, answer["refresh_token"], refreshed["refresh_token"]):
        assert secret not in dumped and secret not in log
