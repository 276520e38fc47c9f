"""Every page: the CSP header, no request to any other host, labels on every input, visible
keyboard focus, no sideways scrolling at 390 px; screenshots at 390 and 1280 px."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.dashboard.conftest import Visit
from tests.dashboard.test_providers import definition
from tests.dashboard.test_tools import tool_body
from tests.support.servers import Server

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && !e.hidden)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML)"""
FOCUS_OUTLINE = "() => getComputedStyle(document.activeElement).outlineStyle"
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


def _pages(ident: str, conn_id: str, account_id: str) -> list[tuple[str, str]]:
    return [
        ("home", "/dashboard/dev/"),
        ("providers", "/dashboard/dev/providers"),
        ("provider-search", "/dashboard/dev/providers?q=git"),
        ("provider-builtin", "/dashboard/dev/providers/github"),
        ("provider-new", "/dashboard/dev/providers/new?start=example"),
        ("provider-edit", f"/dashboard/dev/providers/{ident}"),
        ("provider-promote", f"/dashboard/dev/providers/{ident}/promote?to=production"),
        ("connections", "/dashboard/dev/connections"),
        ("connection", f"/dashboard/dev/connections/{conn_id}"),
        ("connection-delete", f"/dashboard/dev/connections/{conn_id}/delete"),
        ("accounts", "/dashboard/dev/accounts"),
        ("account", f"/dashboard/dev/accounts/{account_id}"),
        ("tools", f"/dashboard/dev/tools?provider={ident}"),
        ("tool", f"/dashboard/dev/tools/dash_tour_{ident}"),
        ("audit", "/dashboard/dev/audit"),
        ("clients", "/dashboard/dev/clients"),
        ("mcp-oauth", "/dashboard/dev/mcp-oauth"),
    ]


def _check(page: Page, response: Any, path: str) -> None:
    assert response is not None and response.status == 200, path
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp, csp
    assert "default-src 'none'" in csp
    assert page.evaluate(UNLABELLED) == [], path
    assert "Traceback" not in page.content()


def test_every_page_at_two_widths(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    ident = f"dashtour{unique}"
    with server.api(dev_client) as api:
        assert (
            api.post("/api/v1/custom-providers", json=definition(f"Dash Tour {unique}")).status_code
            == 201
        )
        tool = tool_body(ident, f"dash_tour_{ident}", "A tool", output_schema={"type": "object"})
        assert api.post("/api/v1/tools", json=tool).status_code in (200, 201)
        conn = api.post("/api/v1/connections", json={"provider_key": ident}).json()
        conn_id = conn.get("connection", conn)["id"]
        assert (
            api.post(
                "/api/v1/connected_accounts/magic_link",
                json={"connector": ident, "identifier": "tour@example.com"},
            ).status_code
            == 200
        )
        account = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": ident, "identifier": "tour@example.com"},
        ).json()["connected_account"]
    page.set_viewport_size({"width": 390, "height": 844})
    signin = page.goto(visit.url("/dashboard/signin"))
    assert signin is not None
    _check(page, signin, "/dashboard/signin")
    visit.shot("signin-390")
    visit.sign_in()
    with server.api(dev_client) as api:  # the home page counts what the API lists
        custom = api.get("/api/v1/providers", params={"filter.provider_type": "CUSTOM"}).json()
        connections = api.get("/api/v1/connections/app", params={"page_size": 1}).json()
    page.goto(visit.url("/dashboard/dev/"))
    assert page.locator("#count-custom").inner_text() == str(custom["total_size"])
    assert page.locator("#count-connections").inner_text() == str(connections["total_size"])
    assert int(page.locator("#count-pending_auth").inner_text()) >= 1
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in _pages(ident, conn_id, account["id"]):
            response = page.goto(visit.url(path))
            _check(page, response, path)
            visit.shot(f"{name}-{width}")
            if width == 390:
                assert page.evaluate(PAGE_WIDTH) <= 390, path
        # keyboard: the first Tab reaches the skip link, with a visible focus ring
        page.goto(visit.url("/dashboard/dev/"))
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
        assert page.evaluate(FOCUS_OUTLINE) != "none"
    assert visit.requests  # the log is live
    assert not visit.foreign_requests()
    assert not visit.csp_violations()
