"""Grants (what a user allowed on the consent page): a revoked grant refuses its access
token at the next MCP call and its refresh token at once; an unchanged grant skips the page;
the consent form refuses a missing or wrong CSRF token and another browser; alice's token
is refused on bob's config; disabling a client ends its grants; all audited; the CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.mcp_oauth_flow import REDIRECT, Flow, pkce, query
from tests.support.mcp_oauth_team import (
    SignInEnv,
    TeamApp,
    consent_token,
)
from tests.support.servers import Server, run_cli
from tests.support.tools import setup_provider
from tests.support.upstream import RecordingUpstream

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def to_consent(flow: Flow) -> tuple[str, str]:
    """Start an authorization and sign in: (the consent page's URL, the verifier)."""
    verifier, challenge = pkce()
    first = await flow.authorize(code_challenge=challenge)
    back = await flow.http.get(first.headers["location"])  # the team app
    done = await flow.http.get(back.headers["location"])  # /handoff
    assert done.status_code == 302, done.text
    assert "/consent/" in done.headers["location"], done.headers["location"]
    return done.headers["location"], verifier


async def tokens(flow: Flow, team: TeamApp) -> dict[str, Any]:
    code, verifier = await flow.code(team)
    answer = await flow.exchange(code, verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}", **MCP_HEADERS}


async def test_revoked_grant_mid_session(
    server: Server, setup: tuple[Flow, TeamApp, SignInEnv, str]
) -> None:
    flow, team, env, _ = setup
    body = await tokens(flow, team)
    ok = await flow.http.post(flow.resource, json=LIST, headers=bearer(body))
    assert ok.status_code == 200, ok.text
    with server.api(env.client) as api:
        (grant,) = api.get("/api/v1/mcp/oauth/grants", params={"identifier": "alice"}).json()[
            "grants"
        ]
        assert api.get("/api/v1/mcp/oauth/grants", params={"identifier": "bob"}).json() == {
            "grants": []
        }
        revoked = api.delete(f"/api/v1/mcp/oauth/grants/{grant['id']}")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["grant"]["revoked_at"]
        again = api.delete(f"/api/v1/mcp/oauth/grants/{grant['id']}")
        assert again.status_code == 404
        live = api.get("/api/v1/mcp/oauth/grants").json()["grants"]
        every = api.get("/api/v1/mcp/oauth/grants", params={"include_revoked": "true"})
        audit = api.get("/api/v1/audit-logs", params={"resource_id": grant["id"]}).json()
    assert live == [] and [g["id"] for g in every.json()["grants"]] == [grant["id"]]
    assert [e["action"] for e in audit["audit_logs"]] == ["mcp_grant.revoke", "mcp_grant.create"]
    # the same access token, on its next use: refused with the challenge
    refused = await flow.http.post(flow.resource, json=LIST, headers=bearer(body))
    assert refused.status_code == 401, refused.text
    challenge = refused.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge
    assert "revoked" in refused.json()["error"]["data"]["message"]
    # and its refresh token is over
    refresh = await flow.refresh(body["refresh_token"])
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    # signing in again asks for consent again (a new grant)
    page, _ = await to_consent(flow)
    assert page.startswith(f"{env.issuer}/consent/")


async def test_unchanged_grant_skips_the_consent_page(
    server: Server, upstream: RecordingUpstream, unique: str, setup: tuple[Flow, TeamApp, Any, Any]
) -> None:
    flow, team, env, _ = setup
    await tokens(flow, team)  # consent given once
    _, challenge = pkce()
    first = await flow.authorize(code_challenge=challenge)
    back = await flow.http.get(first.headers["location"])
    done = await flow.http.get(back.headers["location"])
    assert done.headers["location"].startswith(REDIRECT)  # no consent page this time
    assert "code" in query(done.headers["location"])
    # the config changes (a connection more): the page is shown again
    with server.api(env.client) as api:
        _, extra, _ = setup_provider(api, upstream, unique + "x", "alice")
        cfg_id = flow.resource.rsplit("/", 1)[1]
        current = api.get(f"/api/v1/mcp/configs/{cfg_id}").json()["config"]
        mappings = current["connection_tool_mappings"] + [{"connection_name": extra}]
        changed = api.put(
            f"/api/v1/mcp/configs/{cfg_id}",
            json={"name": current["name"], "connection_tool_mappings": mappings},
        )
        assert changed.status_code == 200, changed.text
    page, _ = await to_consent(flow)
    assert "/consent/" in page


async def test_consent_form_refuses_bad_csrf_and_other_browsers(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, _, _, _ = setup
    page_url, verifier = await to_consent(flow)
    page = await flow.http.get(page_url)
    assert page.status_code == 200, page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    token = consent_token(page.text)
    missing = await flow.http.post(page_url, data={"decision": "allow"})
    assert missing.status_code == 403, missing.text
    wrong = await flow.http.post(page_url, data={"decision": "allow", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    connect = await flow.http.post(f"{page_url}/connect", data={"connection": "x"})
    assert connect.status_code == 403
    async with httpx.AsyncClient(timeout=30) as stranger:  # the right token, no cookie
        other = await stranger.get(page_url)
        assert other.status_code == 403
        forged = await stranger.post(page_url, data={"decision": "allow", "csrf_token": token})
        assert forged.status_code == 403
    # the authorization is still pending: the right form goes through, once
    allowed = await flow.http.post(page_url, data={"decision": "allow", "csrf_token": token})
    assert allowed.status_code == 303 and allowed.headers["location"].startswith(REDIRECT)
    got = query(allowed.headers["location"])
    exchanged = await flow.exchange(got["code"], verifier)
    assert exchanged.status_code == 200, exchanged.text
    replay = await flow.http.post(page_url, data={"decision": "allow", "csrf_token": token})
    assert replay.status_code in (400, 403)


async def test_alice_token_refused_on_bobs_config(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, team, _, bob_url = setup
    body = await tokens(flow, team)
    refused = await flow.http.post(bob_url, json=LIST, headers=bearer(body))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert bob_url.split("/mcp/", 1)[1] in refused.headers["www-authenticate"]


async def test_disabling_a_client_ends_its_grants(
    server: Server, setup: tuple[Flow, TeamApp, SignInEnv, str]
) -> None:
    flow, team, env, _ = setup
    body = await tokens(flow, team)
    with server.api(env.client) as api:
        off = api.patch(f"/api/v1/mcp/oauth/clients/{flow.client_id}", json={"disabled": True})
        assert off.status_code == 200, off.text
        assert api.get("/api/v1/mcp/oauth/grants").json()["grants"] == []
        actions = [
            e["action"]
            for e in api.get("/api/v1/audit-logs").json()["audit_logs"]
            if e["resource_type"] in ("mcp_client", "mcp_grant")
        ]
    expected = ["mcp_grant.revoke", "mcp_client.disable", "mcp_grant.create", "mcp_client.register"]
    assert actions == expected
    refused = await flow.http.post(flow.resource, json=LIST, headers=bearer(body))
    assert refused.status_code == 401


async def test_cli_lists_and_revokes_grants(
    server: Server, setup: tuple[Flow, TeamApp, SignInEnv, str]
) -> None:
    flow, team, env, _ = setup
    body = await tokens(flow, team)
    shown = run_cli(
        server.backend, "mcp", "grants", "list", env.name, "--identifier", "alice", "--json"
    )
    (grant,) = json.loads(shown.stdout)
    assert grant["identifier"] == "alice" and grant["client_id"] == flow.client_id
    done = run_cli(server.backend, "mcp", "grants", "revoke", env.name, grant["id"])
    assert "revoked" in done.stdout
    assert (
        json.loads(run_cli(server.backend, "mcp", "grants", "list", env.name, "--json").stdout)
        == []
    )
    refresh = await flow.refresh(body["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"


async def test_consent_page_after_the_config_was_deleted(
    server: Server, setup: tuple[Flow, TeamApp, SignInEnv, str]
) -> None:
    flow, _, env, _ = setup
    page_url, _ = await to_consent(flow)
    token = consent_token((await flow.http.get(page_url)).text)
    unknown = await flow.http.post(
        f"{page_url}/connect", data={"connection": "not-in-config", "csrf_token": token}
    )
    assert unknown.status_code == 400 and "not one of the MCP config" in unknown.text
    with server.api(env.client) as api:
        gone = api.delete(f"/api/v1/mcp/configs/{flow.resource.rsplit('/', 1)[1]}")
        assert gone.status_code == 200, gone.text
    shown = await flow.http.get(page_url)
    assert shown.status_code == 400 and "MCP config" in shown.text
    allowed = await flow.http.post(page_url, data={"decision": "allow", "csrf_token": token})
    assert allowed.status_code == 400
    with server.api(env.client) as api:
        assert api.get("/api/v1/mcp/oauth/grants").json()["grants"] == []


async def test_consent_page_shows_the_registered_name_and_https_logo(
    setup: tuple[Flow, TeamApp, SignInEnv, str],
) -> None:
    flow, _, env, _ = setup
    registered = await flow.http.post(
        f"{env.issuer}/register",
        json={
            "redirect_uris": [REDIRECT],
            "client_name": "Logo <Host>",
            "logo_uri": "https://logo.example/l.png",
        },
    )
    assert registered.status_code == 201, registered.text
    flow.client_id = registered.json()["client_id"]
    page_url, _ = await to_consent(flow)
    page = await flow.http.get(page_url)
    assert "Logo &lt;Host&gt;" in page.text  # escaped
    assert '<img src="https://logo.example/l.png"' in page.text
    assert "img-src https:" in page.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["content-security-policy"]
    plain = await flow.http.post(
        f"{env.issuer}/register",
        json={"redirect_uris": [REDIRECT], "client_name": "x", "logo_uri": "http://a/l.png"},
    )
    flow.client_id = plain.json()["client_id"]
    page_url, _ = await to_consent(flow)
    assert "<img" not in (await flow.http.get(page_url)).text  # only https logos
