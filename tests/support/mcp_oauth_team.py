"""The test's parties of an MCP sign-in: a tiny team app (a real HTTP server that verifies
authrelay's hand-off request and answers with a signed assertion for the user it "signs
in"), an MCP host's browser (follows the redirects up to the host's redirect URI), and an
environment with the hand-off configured."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from aiohttp import web
from mcp.shared.auth import AuthorizationCodeResult

from authrelay_client import handoff
from tests.support.servers import Server, create_client, create_environment, free_port, run_cli
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream


@dataclass
class TeamApp:
    """Signs in whoever `user` names; records the requests it verified."""

    secret: str = ""
    user: str = "alice"
    verified: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def _login(self, request: web.Request) -> web.Response:
        try:
            claims = handoff.verify_request(self.secret, request.query["authrelay_request"])
        except (KeyError, handoff.HandoffError) as exc:
            return web.Response(status=400, text=f"bad hand-off request: {exc}")
        self.verified.append(claims)
        assertion = handoff.build_assertion(self.secret, claims["rid"], self.user)
        target = f"{claims['return_to']}?{urlencode({'assertion': assertion})}"
        raise web.HTTPFound(target)


@asynccontextmanager
async def running(app: TeamApp) -> AsyncIterator[TeamApp]:
    web_app = web.Application()
    web_app.router.add_get("/login", app._login)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    app.url = f"http://127.0.0.1:{port}/login"
    try:
        yield app
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_json(path: str, handler: Any, tls: ssl.SSLContext) -> AsyncIterator[str]:
    """An https server on localhost answering GET `path` with `handler` (a client ID
    metadata document, or something hostile); yields its base URL."""
    web_app = web.Application()
    web_app.router.add_get(path, handler)
    web_app.on_response_prepare.append(_close_after)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    try:
        yield f"https://localhost:{port}"
    finally:
        await runner.cleanup()
        await asyncio.sleep(0.2)  # TLS transports finish closing before the next test


async def _close_after(request: web.Request, response: web.StreamResponse) -> None:
    """No keep-alive: authrelay's pooled client would otherwise hold a TLS connection that
    the test server closes (and the garbage collector reports) only later."""
    response.force_close()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def consent_token(page: str) -> str:
    """The consent form's CSRF token."""
    found = _CSRF.search(page)
    assert found, page
    return found.group(1)


async def follow(
    http: httpx.AsyncClient, url: str, redirect_prefix: str, decision: str = "allow"
) -> tuple[dict[str, str], httpx.Response | None]:
    """GET `url` and follow redirects (with the client's cookies) until `redirect_prefix`;
    a consent page on the way is answered with `decision`. (The query reached, the last
    answer.)"""
    last: httpx.Response | None = None
    for _ in range(8):
        if url.startswith(redirect_prefix):
            return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}, last
        last = await http.get(url)
        if last.status_code == 200 and "/consent/" in url:
            form = {"csrf_token": consent_token(last.text), "decision": decision}
            last = await http.post(url, data=form)
        if last.status_code not in (302, 303):
            raise AssertionError(f"sign-in stopped: {last.status_code} {last.text}")
        url = last.headers["location"]
    raise AssertionError("too many redirects")


@dataclass
class Browser:
    """The MCP host's browser: GETs the authorization URL and follows redirects until the
    host's redirect URI, whose query becomes the callback's result; it allows on the consent
    page (the Playwright tests drive the page itself)."""

    redirect_prefix: str
    last: httpx.Response | None = None
    result: dict[str, str] = field(default_factory=dict)

    async def redirect(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            self.result, self.last = await follow(http, url, self.redirect_prefix)

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=self.result["code"], state=self.result.get("state"), iss=self.result.get("iss")
        )


@dataclass(frozen=True)
class SignInEnv:
    name: str
    id: str
    client: dict[str, str]
    issuer: str


def sign_in_environment(server: Server, name: str, team: TeamApp) -> SignInEnv:
    """A new environment whose MCP users sign in through `team` (its secret set here)."""
    create_environment(server.backend, name)
    client = create_client(server.backend, name)
    shown = run_cli(server.backend, "env", "login", name, "--handoff-url", team.url, "--json")
    data = json.loads(shown.stdout)
    team.secret = data["handoff_secret"]
    token_claims = server.token(client).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(token_claims + "=" * (-len(token_claims) % 4)))
    env = str(claims["env"])
    return SignInEnv(name, env, client, f"{server.url}/mcp-oauth/{env}")


def setup_config(
    api: httpx.Client, upstream: RecordingUpstream, unique: str, who: str
) -> tuple[str, str, dict[str, Any]]:
    """(provider, connection, config): `who` connected with API key `k-secret-1`, one tool
    `items_{unique}` forwarded to the recording upstream, and a config serving it."""
    provider, conn, _ = setup_provider(api, upstream, unique, who)
    created = api.post("/api/v1/tools", json=tool_body(provider, f"items_{unique}"))
    assert created.status_code == 201, created.text
    response = api.post(
        "/api/v1/mcp/configs",
        json={"name": f"cfg-{unique}", "connection_tool_mappings": [{"connection_name": conn}]},
    )
    assert response.status_code == 201, response.text
    return provider, conn, response.json()["config"]
