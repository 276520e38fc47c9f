"""MCP instances (Scalekit's McpService *Instance* methods) against a running server: every
route and its errors, pagination, auth state, and the official `mcp` SDK's client reaching a
config's tools as the instance's user through the instance's pre-authenticated URL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.mcp import mcp_session, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

P = "/api/v1/mcp/instances"


def _fields(response: httpx.Response) -> set[str]:
    details = response.json()["details"]
    return {v["field"] for d in details for v in d.get("field_violations", [])}


def _ensure(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post(P, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["instance"])


def test_instance_crud_and_errors(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "ivy")
        name = config["name"]
        first = _ensure(api, config_name=name, user_identifier="ivy")
        assert first["id"].startswith("mcpi_") and first["name"] == name
        assert first["user_identifier"] == "ivy"
        assert first["config"]["id"] == config["id"]
        assert first["config"]["connection_tool_mappings"][0]["connection_name"] == conn
        assert first["url"].startswith(f"{server.url}/mcp/v3/instances/mi_")
        assert "last_used_at" not in first and first["updated_at"].endswith("Z")
        # idempotent on (config, user, name); the name defaults to the config's
        assert _ensure(api, config_name=name, user_identifier="ivy", name=name) == first
        assert _ensure(api, config_name=name.upper(), user_identifier="ivy") == first
        named = _ensure(api, config_name=name, user_identifier="ivy", name="Second one")
        other = _ensure(api, config_name=name, user_identifier="jon")
        assert len({first["id"], named["id"], other["id"]}) == 3
        assert len({first["url"], named["url"], other["url"]}) == 3
        assert api.get(f"{P}/{first['id']}").json() == {"instance": first}

        # every bad field named; nothing made
        bad = api.post(P, json={"name": 5, "user_identifier": " ", "x": 1})
        assert bad.status_code == 400 and _fields(bad) == {
            "name",
            "config_name",
            "user_identifier",
            "x",
        }
        long = api.post(P, json={"config_name": name, "user_identifier": "u" * 256})
        assert long.status_code == 400 and _fields(long) == {"user_identifier"}
        bodies: list[object] = [[], "x", None, 3]
        for body in bodies:
            assert api.post(P, json=body).status_code == 400
        missing = api.post(P, json={"config_name": f"nope-{unique}", "user_identifier": "a"})
        assert missing.status_code == 404 and _fields(missing) == {"config_name"}
        assert api.get(f"{P}/mcpi_nope").status_code == 404
        assert api.patch(f"{P}/mcpi_nope", json={"name": "x"}).status_code == 404
        assert api.delete(f"{P}/mcpi_nope").status_code == 404
        assert api.post(f"{P}/mcpi_nope:get_auth_state").status_code == 404
        listed = api.get(P, params={"filter.user_identifier": "ivy", "filter.config_name": name})
        assert {i["id"] for i in listed.json()["instances"]} == {first["id"], named["id"]}

        # update: rename, refuse a taken name, move to another config; the URL stays
        renamed = api.patch(f"{P}/{named['id']}", json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["instance"]["name"] == "Renamed"
        assert renamed.json()["instance"]["url"] == named["url"]
        taken = api.patch(f"{P}/{named['id']}", json={"name": name})
        assert taken.status_code == 409 and _fields(taken) == {"name"}
        unchanged = api.patch(f"{P}/{named['id']}", json={"name": "", "config_name": ""})
        assert unchanged.json()["instance"]["name"] == "Renamed"
        bad_update = api.patch(
            f"{P}/{named['id']}", json={"name": "\x01", "config_name": 3, "y": True}
        )
        assert bad_update.status_code == 400
        assert _fields(bad_update) == {"name", "config_name", "y"}
        gone_config = api.patch(f"{P}/{named['id']}", json={"config_name": f"no-{unique}"})
        assert gone_config.status_code == 404 and _fields(gone_config) == {"config_name"}
        assert api.get(f"{P}/{named['id']}").json()["instance"]["name"] == "Renamed"
        second_config = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": f"cfg2-{unique}",
                "connection_tool_mappings": [{"connection_name": conn}],
            },
        ).json()["config"]
        moved = api.patch(f"{P}/{named['id']}", json={"config_name": second_config["name"]})
        assert moved.status_code == 200
        assert moved.json()["instance"]["config"]["id"] == second_config["id"]

        # delete: gone, and its config's deletion takes its instances with it
        assert api.delete(f"{P}/{other['id']}").json() == {}
        assert api.get(f"{P}/{other['id']}").status_code == 404
        assert api.delete(f"/api/v1/mcp/configs/{second_config['id']}").status_code == 200
        assert api.get(f"{P}/{named['id']}").status_code == 404
        left = api.get(P, params={"filter.user_identifier": "ivy"}).json()["instances"]
        assert [i["id"] for i in left if i["config"]["id"] == config["id"]] == [first["id"]]
        audit = api.get("/api/v1/audit-logs", params={"resource_id": named["id"]}).json()
        actions = {e["action"] for e in audit["audit_logs"]}
        assert {"mcp_instance.create", "mcp_instance.update"} <= actions, audit
        audit = api.get("/api/v1/audit-logs", params={"resource_id": other["id"]}).json()
        assert "mcp_instance.delete" in {e["action"] for e in audit["audit_logs"]}


def test_list_pages_and_filters(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "pat")
        made = [
            _ensure(api, config_name=config["name"], user_identifier=f"u{i}-{unique}")
            for i in range(5)
        ]
        _ensure(api, config_name=config["name"], user_identifier=f"u0-{unique}", name="Alpha")
        seen: list[str] = []
        token = ""
        while True:
            page = api.get(
                P,
                params={
                    "filter.config_name": config["name"],
                    "page_size": 2,
                    "page_token": token,
                },
            ).json()
            assert page["total_size"] == 6 and len(page["instances"]) <= 2
            seen += [i["id"] for i in page["instances"]]
            token = page["next_page_token"]
            if not token:
                break
        assert seen[:5] == [m["id"] for m in made] and len(set(seen)) == 6
        by_id = api.get(P, params={"filter.id": made[2]["id"]}).json()
        assert [i["id"] for i in by_id["instances"]] == [made[2]["id"]]
        by_name = api.get(P, params={"filter.name": "Alpha"}).json()["instances"]
        assert {i["user_identifier"] for i in by_name} >= {f"u0-{unique}"}
        searched = api.get(P, params={"search": "alp", "filter.config_name": config["name"]}).json()
        assert [i["name"] for i in searched["instances"]] == ["Alpha"]
        nothing = api.get(P, params={"filter.config_name": f"none-{unique}"}).json()
        assert nothing["instances"] == [] and nothing["total_size"] == 0
        for params in ({"page_size": "x"}, {"page_size": "-1"}, {"page_token": "!!"}):
            bad = api.get(P, params=params)
            assert bad.status_code == 400, params


def test_auth_state(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "kim")
        kim = _ensure(api, config_name=config["name"], user_identifier="kim")
        lee = _ensure(api, config_name=config["name"], user_identifier="lee")
        state = api.post(f"{P}/{kim['id']}:get_auth_state")
        assert state.status_code == 200, state.text
        (entry,) = state.json()["connections"]
        assert entry["connection_name"] == conn and entry["connected_account_status"] == "ACTIVE"
        assert entry["connected_account_id"].startswith("ca_")
        assert entry["provider"] == f"TOOLS{unique}".upper() and entry["connection_id"]
        assert entry["authentication_link"] == ""
        with_links = api.post(f"{P}/{kim['id']}:get_auth_state?include_auth_links=true")
        assert with_links.json()["connections"][0]["authentication_link"] == ""  # ACTIVE
        # lee has no account: status empty, then with links a fresh link and a pending account
        (none,) = api.post(f"{P}/{lee['id']}:get_auth_state").json()["connections"]
        assert none["connected_account_id"] == "" and none["connected_account_status"] == ""
        linked = api.post(f"{P}/{lee['id']}:get_auth_state", json={"include_auth_links": True})
        (pending,) = linked.json()["connections"]
        assert pending["authentication_link"].startswith(f"{server.url}/connect/")
        assert pending["connected_account_status"] == "PENDING_AUTH"
        bad = api.post(f"{P}/{lee['id']}:get_auth_state?include_auth_links=maybe")
        assert bad.status_code == 400 and _fields(bad) == {"include_auth_links"}
        bad_body = api.post(
            f"{P}/{lee['id']}:get_auth_state", json={"include_auth_links": "yes", "z": 1}
        )
        assert bad_body.status_code == 400 and _fields(bad_body) == {"include_auth_links", "z"}
        assert api.post(f"{P}/{lee['id']}:get_auth_state", content=b"[").status_code == 400


async def test_mcp_client_through_instance_url(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "max")
        instance = _ensure(api, config_name=config["name"], user_identifier="max")
        stranger = _ensure(api, config_name=config["name"], user_identifier="nia")
    # no token: the URL is the credential
    async with mcp_session(instance["url"], "") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"items_{unique}", f"erase_{unique}", f"status_{unique}"}
        upstream.clear()
        result = await session.call_tool(f"items_{unique}", {"owner": "o"})
        assert result.is_error is False, result
        assert upstream.requests[-1].header("X-Api-Key") == "k-secret-1"  # max's account
    # nia has no account: a tool error with an authorization link for nia, nothing upstream
    async with mcp_session(stranger["url"], "") as session:
        upstream.clear()
        refused = await session.call_tool(f"items_{unique}", {"owner": "o"})
        assert refused.is_error is True
        text = refused.content[0].text  # type: ignore[union-attr]
        assert "'nia' has no connected account" in text and "/connect/" in text
        assert upstream.requests == []
    with server.api(dev_client) as api:
        used = api.get(f"{P}/{instance['id']}").json()["instance"]
        assert used["last_used_at"].endswith("Z")
        # a wrong key, and a deleted instance: 404, no tools
        wrong = instance["url"][:-4] + "zzzz"
        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        async with httpx.AsyncClient() as plain:
            answer = await plain.post(wrong, json=listing)
            assert answer.status_code == 404 and answer.json()["error"]["data"]["code"] == 5
            assert api.delete(f"{P}/{instance['id']}").status_code == 200
            gone = await plain.post(
                instance["url"],
                json=listing,
                headers={"Accept": "application/json, text/event-stream"},
            )
    assert gone.status_code == 404 and "no such MCP instance" in json.dumps(gone.json())
    # the URL is a credential: the access log names the route, never the key
    key = instance["url"].rsplit("/", 1)[1]
    assert "/mcp/v3/instances/{key}" in server.log_with("/mcp/v3/instances/{key}")
    assert key not in server.log_text() and wrong.rsplit("/", 1)[1] not in server.log_text()


@pytest.mark.parametrize("path", ["/mcp/v3/instances/x", "/mcp/v3/instances/mi_" + "a" * 300])
def test_unknown_instance_keys(server: Server, path: str) -> None:
    answer = httpx.post(f"{server.url}{path}", json={})
    assert answer.status_code == 404 and answer.json()["error"]["data"]["code"] == 5
    # an instance URL is pre-authenticated: it has no protected-resource metadata
    metadata = httpx.get(f"{server.url}/.well-known/oauth-protected-resource{path}")
    assert metadata.status_code == 404 and metadata.json()["code"] == 5
