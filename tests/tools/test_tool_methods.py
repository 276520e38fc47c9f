"""ToolService's methods in Scalekit's shapes: UpdateTool (`PUT /api/v1/tools`, the id in
the body), SetToolDefault (`POST /api/v1/tools:set_default`), RefreshTools (`POST
/api/v1/tools:refresh`) and DeleteTool (`DELETE /api/v1/tools/{id}` → `{}`)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.resources import error_of, violations
from tests.support.servers import Server
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream

# scalekit.v1.tools.Tool
TOOL_FIELDS = {"id", "provider", "definition", "metadata", "tags", "is_default", "updated_at"}


def _tool(api: httpx.Client, tool_id: str) -> dict[str, Any]:
    return dict(api.get(f"/api/v1/tools/{tool_id}").json()["tool"])


def test_update_tool_by_the_body_id(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "uma")
        name = f"{provider}_read"
        made = api.post("/api/v1/tools", json=tool_body(provider, name)).json()["tool"]
        # What Scalekit's UpdateTool carries: the Tool message, without authrelay's binding.
        scalekit_tool = {
            "id": made["id"],
            "provider": provider.upper(),
            "definition": {**made["definition"], "description": "Changed"},
            "tags": ["crm"],
            "is_default": True,
            "updated_at": made["updated_at"],
        }
        response = api.put("/api/v1/tools", json=scalekit_tool)
        assert response.status_code == 200, response.text
        updated = response.json()["tool"]
        assert TOOL_FIELDS <= set(updated)
        assert updated["definition"]["description"] == "Changed" and updated["tags"] == ["crm"]
        assert updated["binding"] == made["binding"]  # left out: kept
        assert updated["metadata"] == made["metadata"]

        before = _tool(api, made["id"])
        bad = violations(
            api.put(
                "/api/v1/tools",
                json={
                    "id": made["id"],
                    "is_default": False,
                    "binding": {**made["binding"], "method": "FETCH"},
                    "bogus": 1,
                },
            )
        )
        assert set(bad) >= {"is_default", "binding.method", "bogus"}, bad
        assert set(violations(api.put("/api/v1/tools", json={"tags": []}))) == {"id"}
        error_of(api.put("/api/v1/tools", content=b"[]"), 400, 3)
        error_of(api.put("/api/v1/tools", json={"id": "tol_nosuch"}), 404, 5)
        assert _tool(api, made["id"]) == before

        assert api.delete(f"/api/v1/tools/{made['id']}").json() == {}
        error_of(api.delete(f"/api/v1/tools/{made['id']}"), 404, 5)


def test_set_default_names_the_tool(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "vic")
        name = f"{provider}_only"
        made = api.post("/api/v1/tools", json=tool_body(provider, name)).json()["tool"]
        response = api.post("/api/v1/tools:set_default", json={"name": name})
        assert response.status_code == 200, response.text
        tool = response.json()["tool"]
        assert tool["id"] == made["id"] and tool["is_default"] is True
        assert set(tool) == TOOL_FIELDS
        same = api.post(
            "/api/v1/tools:set_default",
            json={"name": name, "schema_version": "", "tool_version": ""},
        )
        assert same.status_code == 200
        bad = violations(
            api.post(
                "/api/v1/tools:set_default",
                json={"name": name, "schema_version": "2", "tool_version": "v3", "x": 1},
            )
        )
        assert set(bad) == {"schema_version", "tool_version", "x"}
        assert "name" in violations(api.post("/api/v1/tools:set_default", json={}))
        error_of(api.post("/api/v1/tools:set_default", json={"name": "nosuch_tool"}), 404, 5)


def test_refresh_answers_the_accounts_tools(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, account = setup_provider(api, upstream, unique, f"wes-{unique}")
        names = [f"{provider}_{w}" for w in ("one", "two")]
        for name in names:
            assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
        by_id = api.post("/api/v1/tools:refresh", json={"connected_account_id": account["id"]})
        assert by_id.status_code == 200, by_id.text
        body = by_id.json()
        assert set(body) == {"tools", "total_size"} and body["total_size"] == 2
        assert [t["definition"]["name"] for t in body["tools"]] == names
        assert set(body["tools"][0]) == TOOL_FIELDS
        by_identifier = api.post(
            "/api/v1/tools:refresh",
            json={"identifier": f"wes-{unique}", "connector": conn, "organization_id": None},
        ).json()
        assert by_identifier == body
        other = api.post(
            "/api/v1/tools:refresh", json={"identifier": f"wes-{unique}", "connector": "nope"}
        ).json()
        assert other == {"tools": [], "total_size": 0}
        assert "identifier" in violations(api.post("/api/v1/tools:refresh", json={}))
        assert set(
            violations(api.post("/api/v1/tools:refresh", json={"identifier": 5, "y": 1}))
        ) == {
            "identifier",
            "y",
        }
        error_of(api.post("/api/v1/tools:refresh", json={"connected_account_id": "ca_no"}), 404, 5)
