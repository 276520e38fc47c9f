"""Connections and connected accounts in the dashboard: create a connection, an
authorization link opened in the same browser, the hosted form, the account ACTIVE; OAuth
app settings with a write-only secret; delete with the account count; the audit log."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import ADMIN, Visit
from tests.dashboard.test_providers import definition
from tests.support.servers import Server


def test_connection_link_hosted_form_and_audit(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    name = f"Dash Static {unique}"
    ident = f"dashstatic{unique}"
    conn = f"static-{unique}"
    with server.api(dev_client) as api:
        assert api.post("/api/v1/custom-providers", json=definition(name)).status_code == 201
    visit.sign_in(path="/dashboard/dev/connections")

    # a taken name is answered on the same page, the field marked, the choices kept
    with server.api(dev_client) as api:
        taken = api.post(
            "/api/v1/connections", json={"provider_key": ident, "key_id": "taken-" + unique}
        )
        assert taken.status_code == 201
    page.get_by_label("Provider", exact=True).select_option(ident)
    page.get_by_label("Name (optional").fill("taken-" + unique)
    page.get_by_role("button", name="Create connection").click()
    expect(page.locator("#e-key_id")).to_contain_text("is taken")
    expect(page.get_by_label("Name (optional")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Provider", exact=True)).to_have_value(ident)

    page.get_by_label("Name (optional").fill(conn)
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(conn)
    expect(page.locator("#connection-status")).to_have_text("COMPLETED")

    page.get_by_role("link", name="Connected accounts", exact=True).click()
    page.locator("#f-link-connector").select_option(conn)
    page.get_by_label("The user's identifier").fill("ann@example.com")
    page.get_by_role("button", name="Create link").click()
    link = page.locator("#auth-link").input_value()
    assert link.startswith(f"{server.url}/connect/")
    expect(page.locator("#link-expiry")).not_to_be_empty()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    visit.shot("journey-authorization-link", full_page=False)

    page.goto(link)  # the user opens the link in the same browser
    page.get_by_label("API key").fill("sk-dashboard-test-secret")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_load_state()

    visit.goto(f"/dashboard/dev/accounts?connector={conn}")
    row = page.locator("table tbody tr", has_text="ann@example.com")
    expect(row).to_contain_text("ACTIVE")
    row.get_by_role("link", name="ann@example.com").click()
    expect(page.locator("#account-status")).to_have_text("ACTIVE")
    assert "sk-dashboard-test-secret" not in page.content()
    with server.api(dev_client) as api:
        details = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "ann@example.com"},
        ).json()["connected_account"]
        assert details["status"] == "ACTIVE"

    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#account-status")).to_have_text("DISCONNECTED")

    # the audit log names the signed-in user for each change made in the dashboard
    visit.goto(f"/dashboard/dev/audit?actor={ADMIN}")
    entries = page.locator("li.entry")
    for action in (
        "connection.create",
        "connected_account.magic_link",
        "connected_account.disconnect",
    ):
        expect(entries.filter(has_text=action)).not_to_have_count(0)
    expect(entries.locator(".actor")).to_have_text([ADMIN] * entries.count())
    visit.shot("journey-audit", full_page=False)
    with server.api(dev_client) as api:
        logged = api.get("/api/v1/audit-logs", params={"resource_id": conn}).json()["audit_logs"]
        assert [(e["action"], e["actor"]["client_id"]) for e in logged] == [
            ("connection.create", ADMIN)
        ]


def test_oauth_settings_and_delete_with_account_count(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    oauth = {
        "type": "OAUTH",
        "fields": [],
        "oauth_config": {
            "authorize_uri": "https://auth.example.com/authorize",
            "token_uri": "https://auth.example.com/token",
            "available_scopes": [{"scope": "read", "required": True}, {"scope": "write"}],
        },
    }
    ident = f"dashoauth{unique}"
    with server.api(dev_client) as api:
        body = definition(f"Dash Oauth {unique}", auth_patterns=[oauth])
        assert api.post("/api/v1/custom-providers", json=body).status_code == 201
        created = api.post("/api/v1/connections", json={"provider_key": ident}).json()
        conn_id = created["connection"]["id"] if "connection" in created else created["id"]
        link = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": ident, "identifier": "bob@example.com"},
        )
        assert link.status_code == 200
    visit.sign_in(path=f"/dashboard/dev/connections/{conn_id}")
    expect(page.locator("#connection-status")).to_have_text("DRAFT")
    expect(page.get_by_label("Redirect URI")).to_have_value(f"{server.url}/oauth/callback")
    read = page.get_by_role("checkbox", name=re.compile("read"))
    expect(read).to_be_checked()
    expect(read).to_be_disabled()  # required scopes are locked
    page.get_by_label("Client id").fill("dash-client")
    page.get_by_label("Client secret").fill("dash-oauth-secret-value")
    page.get_by_role("checkbox", name=re.compile("write")).check()
    page.get_by_role("button", name="Save OAuth settings").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("#connection-status")).to_have_text("COMPLETED")
    expect(page.get_by_label("Client secret")).to_have_value("")  # write-only
    assert "dash-oauth-secret-value" not in page.content()
    with server.api(dev_client) as api:
        got = api.get(f"/api/v1/connections/{conn_id}").json()
        got = got.get("connection", got)
        assert got["oauth_config"]["client_id"] == "dash-client"
        assert got["oauth_config"]["scopes"] == ["read", "write"]

    page.get_by_role("button", name="Disable this connection").click()
    expect(page.locator("#connection-enabled")).to_have_text("disabled")
    page.get_by_role("link", name="Delete this connection…").click()
    expect(page.locator("#delete-count")).to_contain_text("1 connected account")
    page.get_by_role("button", name=re.compile("Delete the connection")).click()
    expect(page).to_have_url(re.compile("/dashboard/dev/connections"))
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/connections/{conn_id}").status_code == 404


def test_api_client_secret_shown_once(visit: Visit, server: Server) -> None:
    page = visit.page
    visit.sign_in(path="/dashboard/production/clients")
    page.get_by_role("button", name="Create an API client").click()
    client = {
        "client_id": page.locator("#new-client-id").input_value(),
        "client_secret": page.locator("#new-client-secret").input_value(),
    }
    token = server.token(client)  # the new client works against the API
    assert token
    visit.goto("/dashboard/production/clients")
    assert client["client_secret"] not in page.content()
    row = page.locator("table tbody tr", has_text=client["client_id"])
    row.get_by_role("button", name=re.compile("Delete")).click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    refused = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials", **client},
    )
    assert refused.status_code in {400, 401}
