"""Custom providers in the dashboard: a mistake shown at its field, the diff before saving,
a concurrent edit shown instead of overwritten, delete blocked by connections, promotion."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.dashboard.conftest import ADMIN, Visit
from tests.support.servers import Server


def definition(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "display_name": name,
        "description": "first",
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [{"field_name": "api_key", "label": "API key", "input_type": "password"}],
            }
        ],
    }
    data.update(changes)
    return data


def _editor_text(visit: Visit, value: dict[str, Any]) -> str:
    text = json.dumps(value, indent=2)
    visit.page.get_by_label("Definition (JSON)").fill(text)
    return text


def test_create_with_a_mistake_then_edit_with_diff(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    name = f"Dash Crm {unique}"
    ident = f"dashcrm{unique}"
    visit.sign_in(path="/dashboard/dev/providers")
    page.get_by_role("link", name="New custom provider").click()
    wrong = _editor_text(visit, definition(name, proxy_url="http://api.example.com/v1"))
    page.get_by_role("button", name="Review changes").click()
    problem = page.locator(".problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("proxy_url")
    line = next(i for i, t in enumerate(wrong.splitlines(), 1) if '"proxy_url"' in t)
    expect(problem).to_have_attribute("data-line", str(line))
    expect(page.locator(".gutter")).to_contain_text(f"● {line}")
    expect(page.get_by_label("Definition (JSON)")).to_have_value(wrong)  # nothing lost
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    visit.shot("journey-provider-error", full_page=False)

    _editor_text(visit, definition(name))
    page.get_by_role("button", name="Review changes").click()
    expect(page.locator("table.diff")).to_contain_text("display_name")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page).to_have_url(re.compile(f"/dashboard/dev/providers/{ident}"))
    with server.api(dev_client) as api:
        listed = api.get(
            "/api/v1/providers",
            params={"filter.provider_type": "CUSTOM", "identifier": ident},
        ).json()
        assert [p["identifier"] for p in listed["providers"]] == [ident]

    _editor_text(visit, definition(name, description="second"))
    page.get_by_role("button", name="Review changes").click()
    row = page.locator("table.diff tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("description")
    expect(row).to_contain_text("first")
    expect(row).to_contain_text("second")
    visit.shot("journey-provider-diff", full_page=False)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    with server.api(dev_client) as api:
        got = api.get(f"/api/v1/providers/{ident}").json()["provider"]
        assert got["description"] == "second"
        audit = api.get("/api/v1/audit-logs", params={"resource_id": ident}).json()
        assert [e["action"] for e in audit["audit_logs"]] == ["provider.update", "provider.create"]
        assert {e["actor"]["client_id"] for e in audit["audit_logs"]} == {ADMIN}


def test_concurrent_edit_is_shown_not_overwritten(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    name = f"Dash Race {unique}"
    ident = f"dashrace{unique}"
    with server.api(dev_client) as api:
        assert api.post("/api/v1/custom-providers", json=definition(name)).status_code == 201
    visit.sign_in(path=f"/dashboard/dev/providers/{ident}")
    _editor_text(visit, definition(name, description="from the dashboard"))
    page.get_by_role("button", name="Review changes").click()
    with server.api(dev_client) as api:  # someone else saves in between
        current = api.get(f"/api/v1/providers/{ident}")
        changed = api.put(
            f"/api/v1/custom-providers/{ident}",
            json=definition(name, description="from the API"),
            headers={"If-Match": current.headers["etag"]},
        )
        assert changed.status_code == 200
    page.get_by_role("button", name="Save", exact=True).click()
    conflict = page.locator("section.conflict")
    expect(conflict).to_contain_text("Someone else changed this provider")
    expect(conflict).to_contain_text("from the API")
    expect(conflict).to_contain_text("from the dashboard")
    visit.shot("journey-provider-conflict", full_page=False)
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/providers/{ident}").json()["provider"]["description"] == (
            "from the API"
        )
    # the user decides: review their text against the latest version, then save it
    page.get_by_role("button", name="Review my text against the latest version").click()
    expect(page.locator("table.diff")).to_contain_text("from the API")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/providers/{ident}").json()["provider"]["description"] == (
            "from the dashboard"
        )


def test_delete_names_blocking_connections_and_promote(
    visit: Visit,
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    unique: str,
) -> None:
    page = visit.page
    name = f"Dash Used {unique}"
    ident = f"dashused{unique}"
    with server.api(dev_client) as api:
        assert api.post("/api/v1/custom-providers", json=definition(name)).status_code == 201
        created = api.post(
            "/api/v1/connections", json={"provider_key": ident, "key_id": f"blocker-{unique}"}
        )
        assert created.status_code == 201, created.text
    visit.sign_in(path=f"/dashboard/dev/providers/{ident}")
    page.get_by_role("button", name="Delete this provider").click()
    expect(page.locator("#delete-error")).to_contain_text(f"blocker-{unique}")
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/providers/{ident}").status_code == 200

    page.get_by_role("link", name="Promote to production").click()
    expect(page.locator("table.three-way")).to_contain_text("display_name")
    expect(page.locator("table.three-way")).to_contain_text(name)
    visit.shot("journey-provider-promote", full_page=False)
    page.get_by_role("button", name="Create in production").click()
    expect(page).to_have_url(re.compile(f"/dashboard/production/providers/{ident}"))
    with server.api(prod_client) as api:
        got = api.get(f"/api/v1/providers/{ident}")
        assert got.status_code == 200 and got.json()["provider"]["display_name"] == name
        audit = api.get("/api/v1/audit-logs", params={"resource_id": ident}).json()
        assert [(e["action"], e["actor"]["client_id"]) for e in audit["audit_logs"]] == [
            ("provider.create", ADMIN)
        ]
