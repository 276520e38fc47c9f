"""Browser-based MCP clients (MCP Inspector's page at http://localhost:6274) call the
authorization server's metadata, registration, token and revocation endpoints across
origins: preflights are answered and the answers readable by any origin."""

from __future__ import annotations

import httpx

from tests.support.mcp_oauth_flow import REDIRECT
from tests.support.mcp_oauth_team import TeamApp, running, sign_in_environment
from tests.support.servers import Server

ORIGIN = {"Origin": "http://localhost:6274"}


async def test_authorization_server_endpoints_for_browsers(server: Server, unique: str) -> None:
    async with running(TeamApp()) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"cors-{unique}", team)
        metadata = f"{server.url}/.well-known/oauth-authorization-server/mcp-oauth/{env.id}"
        for url in (metadata, f"{env.issuer}/register", f"{env.issuer}/token",
                    f"{env.issuer}/revoke"):  # fmt: skip
            pre = await http.options(
                url,
                headers={
                    **ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert pre.status_code == 204, (url, pre.text)
            assert pre.headers["access-control-allow-origin"] == "*"
            assert "POST" in pre.headers["access-control-allow-methods"]
            assert "content-type" in pre.headers["access-control-allow-headers"].lower()
        got = await http.get(metadata, headers=ORIGIN)
        assert got.status_code == 200 and got.headers["access-control-allow-origin"] == "*"
        made = await http.post(
            f"{env.issuer}/register", json={"redirect_uris": [REDIRECT]}, headers=ORIGIN
        )
        assert made.status_code == 201 and made.headers["access-control-allow-origin"] == "*"
        refused = await http.post(
            f"{env.issuer}/token", data={"grant_type": "authorization_code"}, headers=ORIGIN
        )
        assert refused.status_code == 400 and refused.headers["access-control-allow-origin"] == "*"
        # the authorization endpoint is a page the browser navigates to: no CORS there
        page = await http.get(f"{env.issuer}/authorize", headers=ORIGIN)
        assert "access-control-allow-origin" not in page.headers
