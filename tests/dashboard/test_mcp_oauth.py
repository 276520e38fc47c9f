"""The dashboard's MCP sign-in page: a user's grant listed (from a real sign-in and consent)
and revoked (its refresh token refused after), a client disabled, enabled and deleted; each
change in the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import ADMIN, Visit, off_loop
from tests.mcp_oauth.flow import Flow
from tests.mcp_oauth.team import TeamApp, running, setup_config, sign_in_environment
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


async def _signed_in(server: Server, upstream: RecordingUpstream, unique: str) -> dict[str, Any]:
    """alice signs in through the team app and allows: (env, client, refresh token)."""
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"dm-{unique}", team)
        with server.api(env.client) as api:
            setup_config(api, upstream, unique, "alice")
            config = api.get("/api/v1/mcp/configs").json()["configs"][0]
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register()
        code, verifier = await flow.code(team)
        answer = await flow.exchange(code, verifier)
        assert answer.status_code == 200, answer.text
        return {"env": env, "flow": flow, "refresh": answer.json()["refresh_token"]}


async def _refresh(server: Server, made: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        flow = made["flow"]
        flow.http = http
        return await flow.refresh(made["refresh"])


def test_grants_and_clients_page(
    visit: Visit, server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    made = off_loop(asyncio.run, _signed_in(server, upstream, unique))
    env, client_id = made["env"], made["flow"].client_id
    page = visit.page
    visit.sign_in(path=f"/dashboard/{env.name}/mcp-oauth?identifier=alice")
    grants = page.locator("#grants tbody tr[data-grant]")
    expect(grants).to_have_count(1)
    expect(grants.first).to_contain_text("alice")
    expect(grants.first).to_contain_text("t")  # the client's registered name
    expect(page.locator(f'#clients tr[data-client="{client_id}"]')).to_contain_text("enabled")
    visit.shot("mcp-oauth")

    grants.first.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.locator("#grants tbody tr[data-grant]")).to_have_count(0)
    refused = off_loop(asyncio.run, _refresh(server, made))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"

    row = page.locator(f'#clients tr[data-client="{client_id}"]')
    row.get_by_role("button", name="Disable").click()
    expect(page.locator(f'#clients tr[data-client="{client_id}"]')).to_contain_text("disabled")
    page.locator(f'#clients tr[data-client="{client_id}"]').get_by_role(
        "button", name="Enable"
    ).click()
    expect(page.locator(f'#clients tr[data-client="{client_id}"]')).to_contain_text("enabled")
    page.locator(f'#clients tr[data-client="{client_id}"]').get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    expect(page.locator(f'#clients tr[data-client="{client_id}"]')).to_have_count(0)

    with server.api(env.client) as api:
        entries = api.get("/api/v1/audit-logs").json()["audit_logs"]
    actions = [e["action"] for e in entries if e["resource_type"] in ("mcp_client", "mcp_grant")]
    assert actions == [
        "mcp_client.delete",
        "mcp_client.enable",
        "mcp_client.disable",
        "mcp_grant.revoke",
        "mcp_grant.create",
        "mcp_client.register",
    ]
    assert {e["actor"]["client_id"] for e in entries[:4]} == {ADMIN}
