"""The consent page in a real Chromium (Debian's, driven by Playwright's async API), with the
official `mcp` SDK's OAuth client as the MCP host: sign in through the team's app, see
which client asks, as whom, for which config, tools and connections; connect the missing
account through the hosted flow, come back, Allow, and call the tool with that account. Deny
returns `access_denied` to the host."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from mcp.client.auth import OAuthFlowError
from mcp.shared.auth import AuthorizationCodeResult
from playwright.async_api import Browser, Page, async_playwright

from tests.mcp_oauth.test_flow import MemoryStorage, call_tools, host_provider
from tests.support.mcp_oauth_team import TeamApp, running, sign_in_environment
from tests.support.servers import Server, free_port
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream

CHROMIUM = os.environ.get("AUTHRELAY_TEST_CHROMIUM", "/usr/bin/chromium")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class ChromiumHost:
    """The MCP host's browser is Chromium: the SDK's redirect handler opens the
    authorization URL in a tab; `on_consent` acts on the consent page (the test's person);
    the host's redirect URI is a real local server that keeps the query it got."""

    page: Page
    on_consent: Any
    redirect_prefix: str = ""
    result: dict[str, str] = field(default_factory=dict)

    async def _callback(self, request: web.Request) -> web.Response:
        self.result = dict(request.query)
        return web.Response(text="signed in; you can close this tab")

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[ChromiumHost]:
        app = web.Application()
        app.router.add_get("/callback", self._callback)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.redirect_prefix = f"http://127.0.0.1:{port}/callback"
        try:
            yield self
        finally:
            await runner.cleanup()

    async def redirect(self, url: str) -> None:
        await self.page.goto(url)  # team app → /handoff → consent page
        await self.on_consent(self.page)
        await self.page.wait_for_url(f"{self.redirect_prefix}**")
        assert self.result, "the host's redirect URI was not reached"

    async def callback(self) -> AuthorizationCodeResult:
        if "code" not in self.result:
            raise OAuthFlowError(f"authorization failed: {self.result}")
        return AuthorizationCodeResult(
            code=self.result["code"], state=self.result.get("state"), iss=self.result.get("iss")
        )


def two_connection_config(
    server: Server, client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> tuple[str, str, dict[str, Any]]:
    """(connection alice has, connection alice has not, config serving both): alice is
    connected on the first (`k-secret-1`), only bob on the second."""
    with server.api(client) as api:
        provider_a, conn_a, _ = setup_provider(api, upstream, unique, "alice")
        provider_b, conn_b, _ = setup_provider(api, upstream, unique + "b", "bob")
        for provider, tool in ((provider_a, f"items_{unique}"), (provider_b, f"more_{unique}")):
            made = api.post("/api/v1/tools", json=tool_body(provider, tool))
            assert made.status_code == 201, made.text
        created = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": f"cfg-{unique}",
                "connection_tool_mappings": [
                    {"connection_name": conn_a},
                    {"connection_name": conn_b},
                ],
            },
        )
        assert created.status_code == 201, created.text
    return conn_a, conn_b, created.json()["config"]


async def statuses(page: Page) -> dict[str, str]:
    """Connection name → the status the consent page shows."""
    found: dict[str, str] = {}
    for item in await page.locator("#connections li").all():
        name = await item.get_attribute("data-connection")
        found[str(name)] = (await item.locator(".status").inner_text()).strip()
    return found


async def test_consent_connects_the_missing_account_then_allow_calls_with_it(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    async with running(TeamApp(user="alice")) as team, chromium() as browser:
        env = sign_in_environment(server, f"cs-{unique}", team)
        conn_a, conn_b, config = two_connection_config(server, env.client, upstream, unique)
        url = config["mcp_server_url"]
        seen: dict[str, Any] = {}

        async def consent(page: Page) -> None:
            assert "/consent/" in page.url, page.url
            answer = await page.request.get(page.url)  # same cookies: the page's headers
            seen["headers"] = answer.headers
            seen["first"] = await page.locator("main").inner_text()
            seen["first_status"] = await statuses(page)
            # connect the missing account through the hosted flow, which comes back here
            await page.get_by_role("button", name=f"Connect {conn_b}").click()
            await page.locator("input[name=api_key]").fill("k-alice-2")
            await page.get_by_role("button", name="Connect").click()
            await page.wait_for_url("**/consent/**")
            seen["after"] = await statuses(page)
            await page.get_by_role("button", name="Allow").click()

        context = await browser.new_context()
        async with ChromiumHost(await context.new_page(), consent).listening() as host:
            storage = MemoryStorage()
            provider = host_provider(url, host, storage)  # type: ignore[arg-type]
            upstream.clear()
            names, result = await call_tools(url, provider, f"more_{unique}")
        await context.close()

    first = seen["first"]
    assert "test MCP host" in first  # the client's registered name
    assert "alice" in first and f"cfg-{unique}" in first
    assert "127.0.0.1" in first  # the redirect host
    assert f"items_{unique}" in first and f"more_{unique}" in first
    assert seen["first_status"] == {conn_a: "connected", conn_b: "not connected"}
    assert seen["after"] == {conn_a: "connected", conn_b: "connected"}
    headers = seen["headers"]
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert sorted(names) == sorted([f"items_{unique}", f"more_{unique}"])
    assert not result.is_error, result
    # the tool of the connection just connected ran with alice's new credential
    assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-alice-2"]
    assert host.result["iss"] == env.issuer
    with server.api(env.client) as api:
        listed = api.get("/api/v1/mcp/oauth/grants", params={"identifier": "alice"})
        audit = api.get("/api/v1/audit-logs", params={"resource_type": "mcp_grant"})
    (grant,) = listed.json()["grants"]
    assert grant["config_id"] == config["id"] and grant["client_name"] == "test MCP host"
    assert grant["last_used_at"]
    assert [e["action"] for e in audit.json()["audit_logs"]] == ["mcp_grant.create"]


async def test_deny_returns_access_denied(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    async with running(TeamApp(user="alice")) as team, chromium() as browser:
        env = sign_in_environment(server, f"cd-{unique}", team)
        _, _, config = two_connection_config(server, env.client, upstream, unique)
        url = config["mcp_server_url"]

        async def deny(page: Page) -> None:
            await page.get_by_role("button", name="Deny").click()

        context = await browser.new_context()
        async with ChromiumHost(await context.new_page(), deny).listening() as host:
            provider = host_provider(url, host, MemoryStorage())  # type: ignore[arg-type]
            with pytest.raises(Exception) as refused:
                await call_tools(url, provider, f"items_{unique}")
        await context.close()
    assert "authorization failed" in repr(refused.value) or host.result
    assert host.result["error"] == "access_denied"
    assert host.result["state"] and host.result["iss"] == env.issuer
    assert "code" not in host.result
    with server.api(env.client) as api:
        assert api.get("/api/v1/mcp/oauth/grants").json()["grants"] == []
    async with httpx.AsyncClient() as http:  # nothing was granted: still a 401
        answer = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert answer.status_code == 401
