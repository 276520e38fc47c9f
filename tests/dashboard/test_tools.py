"""Tools in the dashboard: each provider's tools, searchable, a tool's schemas, annotations,
binding and source, deleting a hand-written one; the accounts page's created time."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from playwright.sync_api import expect

from authrelay.config import Settings
from authrelay.store import accounts as account_store
from authrelay.store import db
from authrelay.store.db import as_utc
from tests.dashboard.conftest import ADMIN, Visit, off_loop
from tests.dashboard.test_providers import definition
from tests.support.servers import Server

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "owner": {"type": "string", "description": "who owns the repository"},
        "per_page": {"type": "integer"},
    },
    "required": ["owner"],
}
OUTPUT_SCHEMA = {"type": "array", "items": {"type": "object"}}


def tool_body(provider: str, name: str, description: str, **definition: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "definition": {
            "name": name,
            "description": description,
            "input_schema": INPUT_SCHEMA,
            **definition,
        },
        "binding": {
            "method": "GET",
            "path": "/users/{owner}/repos",
            "params": {"owner": {"in": "path"}},
        },
        "tags": ["dashboard"],
    }


def test_tools_per_provider_with_schemas_and_delete(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    ident = f"dashtools{unique}"
    listing = f"dash_list_repos_{unique}"
    removing = f"dash_remove_{unique}"
    other = f"dash_other_{unique}"
    filed = f"dash_filed_{unique}"
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition(f"Dash Tools {unique}"))
        assert created.status_code == 201
        first = api.post(
            "/api/v1/tools",
            json=tool_body(
                ident,
                listing,
                "List the repositories of an owner",
                output_schema=OUTPUT_SCHEMA,
                annotations={"read_only_hint": True, "destructive_hint": False},
            ),
        )
        assert first.status_code in (200, 201), first.text
        second = api.post("/api/v1/tools", json=tool_body(ident, removing, "Remove a thing"))
        assert second.status_code in (200, 201), second.text
        third = api.post("/api/v1/tools", json=tool_body("github", other, "Elsewhere"))
        assert third.status_code in (200, 201), third.text
        synced = api.post(
            "/api/v1/tools:sync",
            json={"provider": ident, "source": "file", "tools": [tool_body(ident, filed, "F")]},
        )
        assert synced.status_code == 200, synced.text
    visit.sign_in(path="/dashboard/dev/tools")

    # filtered by provider: that provider's tools only
    page.get_by_label("Provider", exact=True).select_option(ident)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#tools tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#tools")).to_contain_text(listing)
    expect(page.locator("#tools")).not_to_contain_text(other)
    expect(page.locator("#tools")).to_contain_text("GET /users/{owner}/repos")

    # searched by description within the provider
    page.get_by_label("Search by name or description").fill("repositories")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    visit.shot("journey-tools", full_page=False)

    # a tool's details: annotations, schemas pretty-printed, binding, source
    page.get_by_role("link", name=listing).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(listing)
    expect(page.locator("#tool-description")).to_have_text("List the repositories of an owner")
    expect(page.locator("#tool-read-only")).to_have_text("yes")
    expect(page.locator("#tool-destructive")).to_have_text("no")
    expect(page.locator("#tool-idempotent")).to_have_text("no")
    expect(page.locator("#tool-binding")).to_have_text("GET /users/{owner}/repos")
    expect(page.locator("#tool-source")).to_have_text("api")
    shown = page.locator("#tool-input-schema").inner_text()
    assert json.loads(shown) == INPUT_SCHEMA
    assert "\n  " in shown  # indented, one key a line
    assert json.loads(page.locator("#tool-output-schema").inner_text()) == OUTPUT_SCHEMA
    visit.shot("journey-tool", full_page=False)

    # the tool without an output schema shows none; deleting it (confirmed) is audited
    visit.goto(f"/dashboard/dev/tools?provider={ident}&q={removing}")
    page.get_by_role("link", name=removing).click()
    expect(page.locator("#tool-output-schema")).to_have_count(0)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.locator("#tools")).not_to_contain_text(removing)
    expect(page.locator("#tools")).to_contain_text(listing)
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/tools/{removing}").status_code == 404
        assert api.get(f"/api/v1/tools/{listing}").status_code == 200
        logged = api.get("/api/v1/audit-logs", params={"resource_id": removing}).json()
        actions = [(e["action"], e["actor"]["client_id"]) for e in logged["audit_logs"]]
        assert ("tool.delete", ADMIN) in actions

    # a tool from a provider file is changed there: no delete button, and a delete is refused
    visit.goto(f"/dashboard/dev/tools?provider={ident}&q={filed}")
    page.get_by_role("link", name=filed).click()
    expect(page.locator("#tool-source")).to_have_text("file")
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.input_value()
    refused = page.request.post(
        visit.url(f"/dashboard/dev/tools/{filed}/delete"), form={"csrf": csrf}
    )
    assert refused.status == 409
    assert "Only hand-written tools" in refused.text()
    with server.api(dev_client) as api:
        assert api.get(f"/api/v1/tools/{filed}").status_code == 200

    # an unknown tool is a page, not a stack trace
    missing = page.goto(visit.url("/dashboard/dev/tools/no_such_tool_here"))
    assert missing is not None and missing.status == 404
    assert "Traceback" not in page.content()
    assert not visit.foreign_requests()
    assert not visit.csp_violations()


def _created_at(server: Server, account_id: str) -> datetime:
    async def read() -> datetime:
        settings = Settings(
            data_dir=server.backend.data_dir, database_url=server.backend.database_url
        )
        engine = db.create_engine(settings.resolved_database_url)
        try:
            async with db.session_factory(engine)() as session:
                account = await account_store.by_id(session, account_id)
                assert account is not None
                return account.created_at
        finally:
            await engine.dispose()

    result: datetime = off_loop(asyncio.run, read())
    return result


def test_accounts_show_created_time(
    visit: Visit, server: Server, dev_client: dict[str, str], unique: str
) -> None:
    page = visit.page
    ident = f"dashcreated{unique}"
    who = f"created-{unique}@example.com"
    with server.api(dev_client) as api:
        assert (
            api.post(
                "/api/v1/custom-providers", json=definition(f"Dash Created {unique}")
            ).status_code
            == 201
        )
        assert api.post("/api/v1/connections", json={"provider_key": ident}).status_code == 201
        linked = api.post(
            "/api/v1/connected_accounts/magic_link", json={"connector": ident, "identifier": who}
        )
        assert linked.status_code == 200
        account = api.get(
            "/api/v1/connected_accounts/details", params={"connector": ident, "identifier": who}
        ).json()["connected_account"]
        assert "created_at" not in account  # the wire view is unchanged
    expected = as_utc(_created_at(server, account["id"])).isoformat().replace("+00:00", "Z")
    visit.sign_in(path=f"/dashboard/dev/accounts?identifier={who}")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.created")).to_have_text(expected)
    page.get_by_role("link", name=who).click()
    expect(page.locator("#account-created")).to_have_text(expected)
    assert not visit.foreign_requests()
    assert not visit.csp_violations()
