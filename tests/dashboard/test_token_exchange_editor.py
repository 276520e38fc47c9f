"""The dashboard's provider editor takes TOKEN_EXCHANGE definitions: a mistake inside the
`token_exchange` block is shown at its line, the fixed definition saves, and a connection
of the new type is created from the dashboard's form."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.dashboard.conftest import Visit
from tests.support.servers import Server


def definition(name: str, header_template: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
        "auth_patterns": [
            {
                "type": "TOKEN_EXCHANGE",
                "fields": [{"field_name": "api_key", "input_type": "password"}],
                "token_exchange": {
                    "url": "https://api.example.com/auth",
                    "body": {"key": "{{api_key}}"},
                    "token_path": "token",
                    "header_template": header_template,
                },
            }
        ],
    }


def test_editor_places_token_exchange_errors_and_saves(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    name = f"Dash Exchange {unique}"
    ident = f"dashexchange{unique}"
    visit.sign_in(path="/dashboard/dev/providers")
    page.get_by_role("link", name="New custom provider").click()
    wrong = json.dumps(definition(name, "Token {{api_key}}"), indent=2)
    page.get_by_label("Definition (JSON)").fill(wrong)
    page.get_by_role("button", name="Review changes").click()
    problem = page.locator(".problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("token_exchange.header_template")
    line = next(i for i, t in enumerate(wrong.splitlines(), 1) if '"header_template"' in t)
    expect(problem).to_have_attribute("data-line", str(line))

    page.get_by_label("Definition (JSON)").fill(
        json.dumps(definition(name, "Token {{token}}"), indent=2)
    )
    page.get_by_role("button", name="Review changes").click()
    expect(page.locator("table.diff")).to_contain_text("token_exchange")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page).to_have_url(re.compile(f"/dashboard/dev/providers/{ident}"))

    # a connection of the new type from the dashboard's form
    visit.goto("/dashboard/dev/connections")
    page.get_by_label("Provider", exact=True).select_option(ident)
    page.get_by_label("Name (optional").fill(f"dx-{unique}")
    page.get_by_label("Auth type").select_option("TOKEN_EXCHANGE")
    page.get_by_role("button", name="Create connection").click()
    expect(page).to_have_url(re.compile(r"/dashboard/dev/connections/conn_"))
    with server.api(dev_client) as api:
        made = api.get(f"/api/v1/connections/dx-{unique}")
        assert made.status_code == 200, made.text
        assert made.json()["connection"]["type"] == "TOKEN_EXCHANGE"
