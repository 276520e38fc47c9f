"""The dashboard's MCP sign-in page: the sign-in setting (a hand-off whose secret is shown
once and signs authrelay's hand-off requests, then an OpenID Connect provider, a bad issuer
refused at its field, the registration switches, all as `authrelay env login --json` then
shows them); a user's grant listed (from a real sign-in and consent) and revoked (its refresh
token refused after), a client disabled, enabled and deleted; each change in the audit log."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from authrelay_client import handoff
from tests.dashboard.conftest import ADMIN, Visit, off_loop
from tests.support.mcp_oauth_flow import Flow, query
from tests.support.mcp_oauth_team import (
    SignInEnv,
    TeamApp,
    running,
    setup_config,
    sign_in_environment,
)
from tests.support.servers import Server, create_client, create_environment, run_cli
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


def _new_environment(server: Server, name: str) -> SignInEnv:
    """An environment with an API client and no MCP sign-in configured."""
    create_environment(server.backend, name)
    client = create_client(server.backend, name)
    part = server.token(client).split(".")[1]
    env_id = str(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["env"])
    return SignInEnv(name, env_id, client, f"{server.url}/mcp-oauth/{env_id}")


async def _handoff_request(env: SignInEnv, resource: str) -> str:
    """Where an MCP host's authorization request is sent: the hand-off URL with authrelay's
    signed request."""
    async with httpx.AsyncClient(timeout=30) as http:
        flow = Flow(http, env, resource)
        await flow.register()
        first = await flow.authorize()
    assert first.status_code == 302, first.text
    return str(first.headers["location"])


def _cli_setting(server: Server, env: SignInEnv) -> dict[str, Any]:
    """`authrelay env login ENV --json`, configured as the server is (its public URL)."""
    args = ("env", "login", env.name, "--json")
    shown = run_cli(server.backend, *args, AUTHRELAY_PUBLIC_URL=server.url)
    assert "secret" not in shown.stdout.replace("handoff_secret", ""), shown.stdout
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def test_sign_in_settings(
    visit: Visit, server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    env = _new_environment(server, f"ds-{unique}")
    with server.api(env.client) as api:
        setup_config(api, upstream, unique, "alice")
        resource = api.get("/api/v1/mcp/configs").json()["configs"][0]["mcp_server_url"]
    page = visit.page
    path = f"/dashboard/{env.name}/mcp-oauth"
    visit.sign_in(path=path)
    setting = page.locator("#sign-in")
    expect(setting).to_contain_text("not set")

    # the hand-off: its secret shown once, with the warning
    page.get_by_label("Hand-off URL").fill("https://app.example/mcp-login")
    page.get_by_role("button", name="Save hand-off").click()
    expect(page.get_by_role("status")).to_contain_text("hand-off saved")
    once = page.locator("section.once")
    expect(once).to_contain_text("will not be shown again")
    secret = page.locator("#new-handoff-secret").input_value()
    assert len(secret) >= 40
    expect(setting).to_contain_text("login hand-off")
    expect(setting).to_contain_text("https://app.example/mcp-login")
    visit.shot("mcp-oauth-handoff-secret")

    visit.goto(path)  # a later visit: the setting, never the secret
    expect(page.locator("#sign-in")).to_contain_text("https://app.example/mcp-login")
    expect(page.locator("#new-handoff-secret")).to_have_count(0)
    assert secret not in page.content()

    # the secret shown is the one authrelay signs its hand-off requests with
    location = off_loop(asyncio.run, _handoff_request(env, resource))
    assert location.startswith("https://app.example/mcp-login?")
    claims = handoff.verify_request(secret, query(location)["authrelay_request"])
    assert claims["env"] == env.id
    with pytest.raises(handoff.HandoffError):
        handoff.verify_request(secret[:-2] + "xx", query(location)["authrelay_request"])
    shown = _cli_setting(server, env)
    assert shown["sign_in"] == "handoff" and "handoff_secret" not in shown
    assert shown["handoff_url"] == "https://app.example/mcp-login"

    # a form posted without the CSRF token changes nothing
    forged = page.request.post(
        visit.url(f"{path}/sign-in/handoff"), form={"handoff_url": "https://evil.example/x"}
    )
    assert forged.status == 403
    assert _cli_setting(server, env)["handoff_url"] == "https://app.example/mcp-login"

    # OpenID Connect: a non-https issuer refused at its field, nothing typed secret echoed
    page.get_by_label("Issuer", exact=True).fill("http://idp.example.com")
    page.get_by_label("Client id", exact=True).fill("authrelay-dash")
    page.get_by_label("Client secret", exact=True).fill("typed-oidc-secret-1")
    page.get_by_label("Identifier claim").fill("sub")
    page.get_by_role("button", name="Save OpenID Connect").click()
    issuer = page.get_by_label("Issuer", exact=True)
    expect(issuer).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-oidc_issuer")).to_contain_text("must be an https URL")
    expect(page.locator("p.error.banner")).to_contain_text("oidc_issuer:")
    expect(issuer).to_have_value("http://idp.example.com")  # what was typed is kept
    expect(page.get_by_label("Client secret", exact=True)).to_have_value("")
    assert "typed-oidc-secret-1" not in page.content()
    expect(page.locator("#sign-in")).to_contain_text("login hand-off")  # unchanged

    issuer.fill("https://idp.example.com")
    page.get_by_label("Client secret", exact=True).fill("typed-oidc-secret-1")
    page.get_by_role("button", name="Save OpenID Connect").click()
    expect(page.get_by_role("status")).to_contain_text("OpenID Connect sign-in saved")
    setting = page.locator("#sign-in")
    expect(setting).to_contain_text("OpenID Connect")
    expect(setting).to_contain_text("https://idp.example.com")
    expect(setting).to_contain_text("authrelay-dash")
    expect(setting).not_to_contain_text("app.example")
    redirect_uri = page.locator("#oidc-redirect-uri").input_value()
    assert redirect_uri == f"{env.issuer}/oidc/callback"
    expect(page.get_by_label("Client secret", exact=True)).to_have_value("")
    assert "typed-oidc-secret-1" not in page.content()
    visit.shot("mcp-oauth-oidc")

    # the registration switches
    page.get_by_label("Dynamic client registration (RFC 7591)").uncheck()
    page.get_by_role("button", name="Save registration").click()
    expect(page.get_by_role("status")).to_contain_text("registration saved")
    expect(page.locator("#sign-in tr", has_text="dynamic client registration")).to_contain_text(
        "off"
    )

    # what the page set is what the CLI shows
    shown = _cli_setting(server, env)
    assert shown == {
        "environment": env.name,
        "sign_in": "oidc",
        "handoff_url": None,
        "handoff_jwks_url": None,
        "oidc_issuer": "https://idp.example.com",
        "oidc_client_id": "authrelay-dash",
        "identifier_claim": "sub",
        "oidc_redirect_uri": redirect_uri,
        "dynamic_client_registration": False,
        "client_id_metadata_documents": True,
    }
    assert "typed-oidc-secret-1" not in json.dumps(shown)
