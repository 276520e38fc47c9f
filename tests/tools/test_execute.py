"""execute_tool end to end: a real server, a real recording upstream, every error path."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.servers import Server, create_client
from tests.support.tools import setup_provider, status_tool, tool_body
from tests.support.upstream import RecordingUpstream


def test_execute_sends_inputs_where_the_binding_says(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, account = setup_provider(api, upstream, unique, "alice")
        created = api.post("/api/v1/tools", json=tool_body(provider, f"items_{unique}"))
        assert created.status_code == 201, created.text
        tool = created.json()["tool"]
        assert tool["id"].startswith("tol_") and tool["provider"] == provider.upper()
        assert tool["definition"]["annotations"]["read_only_hint"] is True
        upstream.clear()
        response = api.post(
            "/api/v1/execute_tool",
            json={
                "tool_name": f"items_{unique}",
                "params": {"owner": "a b/c", "limit": 5, "title": "hi", "trace": "t1"},
                "identifier": "alice",
                "connector": conn,
                "agent_run_id": "run_1",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["execution_id"].startswith("exe_")
        seen = upstream.requests[-1]
        assert seen.method == "POST"
        assert seen.raw_path == "/api/owners/a%20b%2Fc/items?per_page=5"
        assert seen.header("X-Api-Key") == "k-secret-1"
        assert seen.header("X-Trace") == "t1"
        assert json.loads(seen.body) == {"title": "hi"}
        assert body["data"]["path"] == "/api/owners/a%20b%2Fc/items?per_page=5"
        # tool_input is accepted as params; connected_account_id instead of identifier
        again = api.post(
            "/api/v1/execute_tool",
            json={
                "tool_name": f"items_{unique}",
                "tool_input": {"owner": "o"},
                "connected_account_id": account["id"],
            },
        )
        assert again.status_code == 200, again.text
        # without a connector: the only account of the provider is found
        third = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"items_{unique}", "params": {"owner": "o"}, "identifier": "alice"},
        )
        assert third.status_code == 200, third.text
        wanted = ('"execution_id": "' + body["execution_id"], '"agent_run_id": "run_1"')
        log = server.log_with(*wanted)
        assert all(part in log for part in wanted)
        assert "k-secret-1" not in log


def test_execute_error_paths(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, _ = setup_provider(api, upstream, unique, "bob")
        name = f"items_{unique}"
        assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
        call = {"tool_name": name, "params": {"owner": "x"}, "identifier": "bob", "connector": conn}

        upstream.clear()
        unknown = api.post("/api/v1/execute_tool", json={**call, "tool_name": "nope_" + unique})
        assert unknown.status_code == 404 and unknown.json()["code"] == 5

        wrong = api.post(
            "/api/v1/execute_tool",
            json={**call, "params": {"limit": 0, "title": 3, "extra": 1}},
        )
        assert wrong.status_code == 400
        fields = {v["field"] for v in wrong.json()["details"][0]["field_violations"]}
        assert fields == {"params.owner", "params.limit", "params.title"}
        assert upstream.requests == []  # nothing went upstream

        malformed = api.post("/api/v1/execute_tool", json={"params": [], "bogus": 1})
        assert malformed.status_code == 400
        fields = {v["field"] for v in malformed.json()["details"][0]["field_violations"]}
        assert fields == {"bogus", "tool_name", "params", "identifier"}

        nobody = api.post("/api/v1/execute_tool", json={**call, "identifier": "carol"})
        assert nobody.status_code == 404, nobody.text
        nobody2 = api.post(
            "/api/v1/execute_tool", json={**call, "identifier": "carol", "connector": ""}
        )
        assert nobody2.status_code == 404 and "no connected account" in nobody2.json()["message"]
        missing_account = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": name, "params": {"owner": "x"}, "connected_account_id": "ca_x"},
        )
        assert missing_account.status_code == 404

        # the account is deleted: 404, nothing upstream
        deleted = api.post(
            "/api/v1/connected_accounts:delete", json={"connector": conn, "identifier": "bob"}
        )
        assert deleted.status_code == 200, deleted.text
        upstream.clear()
        gone = api.post("/api/v1/execute_tool", json=call)
        assert gone.status_code == 404, gone.text
        assert upstream.requests == []


@pytest.mark.parametrize("code", [404, 422, 500, 503], ids=lambda code: f"upstream-{code}")
def test_an_upstream_error_is_passed_on_with_its_status(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str, code: int
) -> None:
    """4xx answers keep their status, 5xx become 502; the upstream's status and body are in
    the last detail and its status in x-authrelay-upstream-status."""
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "bob")
        created = api.post("/api/v1/tools", json=status_tool(provider, f"status_{unique}"))
        assert created.status_code == 201, created.text
        upstream_error = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"status_{unique}", "params": {"code": code}, "identifier": "bob"},
        )
        assert upstream_error.status_code == (code if code < 500 else 502)
        body = upstream_error.json()
        detail = body["details"][-1]
        assert detail["source"] == "upstream" and detail["status"] == code
        assert detail["body"] == {"upstream_error": True}
        assert upstream_error.headers["x-authrelay-upstream-status"] == str(code)


def test_inactive_account_and_timeout(
    server: Server, strict_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    client = create_client(strict_server.backend, "dev")
    with strict_server.api(client) as api:
        provider, _conn, account = setup_provider(api, upstream, unique, "dan")
        slow = tool_body(
            provider,
            f"slow_{unique}",
            method="GET",
            path="/slow",
            params={"s": {"in": "query"}},
            input_schema={"type": "object", "properties": {"s": {"type": "string"}}},
        )
        assert api.post("/api/v1/tools", json=slow).status_code == 201
        timed_out = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"slow_{unique}", "params": {"s": "3"}, "identifier": "dan"},
        )
        assert timed_out.status_code == 504, timed_out.text
        assert timed_out.json()["code"] == 4
        html = tool_body(
            provider,
            f"html_{unique}",
            method="GET",
            path="/html",
            params={},
            input_schema={"type": "object", "properties": {}},
        )
        assert api.post("/api/v1/tools", json=html).status_code == 201
        text = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"html_{unique}", "params": {}, "identifier": "dan"},
        )
        assert text.status_code == 200
        assert text.json()["data"] == {"result": "<html>not json</html>"}
        disconnected = api.post(f"/api/v1/connected_accounts/{account['id']}:disconnect")
        assert disconnected.status_code == 200, disconnected.text
        inactive = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"html_{unique}", "params": {}, "identifier": "dan"},
        )
        assert inactive.status_code == 412, inactive.text
        assert "authorization link" in inactive.json()["message"]


def test_answers_selected_capped_and_unauthenticated(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    empty = {"type": "object", "properties": {}}
    with server.api(dev_client) as api:
        provider, _conn, _ = setup_provider(api, upstream, unique, "ivy")
        picked = tool_body(
            provider, f"pick_{unique}", method="GET", path="/pick", params={},
            input_schema=empty, response={"select": "/path"},
        )  # fmt: skip
        big = tool_body(
            provider, f"big_{unique}", method="GET", path="/big/100000", params={},
            input_schema=empty, response={"max_bytes": 1000},
        )  # fmt: skip
        for body in (picked, big):
            assert api.post("/api/v1/tools", json=body).status_code == 201
        call = {"params": {}, "identifier": "ivy"}
        selected = api.post("/api/v1/execute_tool", json={**call, "tool_name": f"pick_{unique}"})
        assert selected.json()["data"] == {"result": "/api/pick"}
        capped = api.post("/api/v1/execute_tool", json={**call, "tool_name": f"big_{unique}"})
        assert capped.status_code == 200, capped.text
        assert capped.json()["data"] == {"result": "x" * 1000, "truncated": True}
        upstream.clear()
        anonymous = httpx.post(
            f"{server.url}/api/v1/execute_tool", json={**call, "tool_name": f"pick_{unique}"}
        )
        assert anonymous.status_code == 401 and anonymous.json()["code"] == 16
        forged = httpx.post(
            f"{server.url}/api/v1/execute_tool",
            json={**call, "tool_name": f"pick_{unique}"},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert forged.status_code == 401
        not_json = api.post(
            "/api/v1/execute_tool", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert (
            not_json.status_code == 400
            and not_json.json()["details"][0]["field_violations"][0]["field"] == "body"
        )
        assert upstream.requests == []
