"""Redirect URIs of native MCP hosts: Cursor's dynamic registration sends its private-use
scheme (`cursor://…`, RFC 8252 §7.1) beside an https and a loopback URI; all three are
registered, the custom one matches exactly only, and browser-run schemes stay refused."""

from __future__ import annotations

import httpx

from tests.support.mcp_oauth_flow import Flow, query
from tests.support.mcp_oauth_team import (
    TeamApp,
    consent_token,
    running,
    setup_config,
    sign_in_environment,
)
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

CURSOR = "cursor://anysphere.cursor-mcp/oauth/callback"
CURSOR_URIS = [CURSOR, "https://www.cursor.com/agents/mcp/oauth/callback",
               "http://localhost:8787/callback"]  # fmt: skip


async def test_cursor_registration_and_its_scheme(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"cur-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register(CURSOR_URIS)
        first = await flow.authorize(redirect_uri=CURSOR)
        assert first.status_code == 302 and first.headers["location"].startswith(team.url)
        back = await http.get(first.headers["location"])
        signed_in = await http.get(back.headers["location"])
        assert signed_in.status_code == 302, signed_in.text
        consent = signed_in.headers["location"]
        assert consent.startswith(f"{env.issuer}/consent/"), consent
        page = await http.get(consent)
        assert page.status_code == 200, page.text
        # the form's answer redirects to the custom scheme: the page's CSP allows it
        assert "form-action 'self' cursor:;" in page.headers["content-security-policy"]
        form = {"csrf_token": consent_token(page.text), "decision": "allow"}
        done = await http.post(consent, data=form)
        assert done.status_code == 303 and done.headers["location"].startswith(CURSOR + "?")
        assert query(done.headers["location"])["state"] == "st-1"
        # exact match only: another path or a port on the custom scheme is not this client's
        for other in ("cursor://anysphere.cursor-mcp/other", "cursor://anysphere.cursor-mcp:1/oauth/callback"):  # fmt: skip
            refused = await flow.authorize(redirect_uri=other)
            assert refused.status_code == 400 and "location" not in refused.headers
        for bad in (
            "javascript://x/%0aalert(1)",
            "data://text/html,x",
            "file:///etc/passwd",
            "http://evil.example/cb",
            "cursor://anysphere.cursor-mcp/cb#frag",
            "cursor:",
        ):
            answer = await http.post(
                f"{env.issuer}/register", json={"redirect_uris": [bad], "client_name": "x"}
            )
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.json()["error"] == "invalid_redirect_uri"
