"""MCP config routes: CRUD with every bad field named, account state with authorization
links, session tokens; two connections of one provider; one connection's MCP URL."""

from __future__ import annotations

import httpx

from tests.support.mcp import mcp_session, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


def _fields(response: httpx.Response) -> set[str]:
    return {v["field"] for v in response.json()["details"][0]["field_violations"]}


def test_config_crud_and_validation(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, config = setup_config(api, upstream, unique, "gus")
        cid = config["id"]
        assert cid.startswith("cfg_")
        assert config["connection_tool_mappings"] == [
            {
                "connection_name": conn,
                "connection_id": config["connection_tool_mappings"][0]["connection_id"],
                "provider": provider.upper(),
                "tools": [],
            }
        ]
        assert api.get(f"/api/v1/mcp/configs/{cid}").json()["config"] == config
        listed = api.get("/api/v1/mcp/configs", params={"filter.name": config["name"].upper()})
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()["configs"]] == [cid]
        assert listed.json()["total_size"] == 1
        by_id = api.get("/api/v1/mcp/configs", params={"filter.id": cid, "page_size": 1})
        assert [c["id"] for c in by_id.json()["configs"]] == [cid]
        taken = api.post(
            "/api/v1/mcp/configs",
            json={"name": config["name"], "connection_tool_mappings": [{"connection_name": conn}]},
        )
        assert taken.status_code == 409 and _fields(taken) == {"name"}
        bad = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": "Bad Name",
                "description": 5,
                "access_level": "ALL",
                "connection_tool_mappings": [
                    {"connection_name": "nope"},
                    {"connection_name": conn, "tools": [f"items_{unique}", "missing"]},
                    {"connection_name": conn},
                    {"connection_name": conn, "extra": 1},
                ],
                "bogus": True,
            },
        )
        assert bad.status_code == 400
        assert _fields(bad) == {
            "bogus",
            "name",
            "description",
            "access_level",
            "connection_tool_mappings[0].connection_name",
            "connection_tool_mappings[1].tools[1]",
            "connection_tool_mappings[2].connection_name",
            "connection_tool_mappings[3].extra",
            "connection_tool_mappings[3].connection_name",
        }
        empty = api.post("/api/v1/mcp/configs", json={"name": "x" + unique})
        assert empty.status_code == 400 and _fields(empty) == {"connection_tool_mappings"}
        # a config fetched can be sent back as it is (read-only fields are ignored)
        updated = api.put(
            f"/api/v1/mcp/configs/{cid}",
            json={
                **config,
                "description": "new",
                "connection_tool_mappings": [
                    {**config["connection_tool_mappings"][0], "tools": [f"items_{unique}"]}
                ],
            },
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["config"]["description"] == "new"
        assert updated.json()["config"]["connection_tool_mappings"][0]["tools"] == [
            f"items_{unique}"
        ]
        renamed = api.put(f"/api/v1/mcp/configs/{cid}", json={"name": "other"})
        assert renamed.status_code == 400 and _fields(renamed) == {"name"}
        assert api.get(f"/api/v1/mcp/configs/{cid}").json()["config"]["description"] == "new"
        audit = api.get("/api/v1/audit-logs", params={"page_size": 50}).json()
        actions = {e["action"] for e in audit["audit_logs"]}
        assert {"mcp_config.create", "mcp_config.update"} <= actions
        assert api.delete(f"/api/v1/mcp/configs/{cid}").status_code == 200
        assert api.get(f"/api/v1/mcp/configs/{cid}").status_code == 404
        assert api.delete(f"/api/v1/mcp/configs/{cid}").status_code == 404
        assert api.put(f"/api/v1/mcp/configs/{cid}", json={}).status_code == 404
        assert api.get("/api/v1/mcp/configs", params={"page_token": "junk"}).status_code == 400


def test_connected_accounts_and_tokens(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, config = setup_config(api, upstream, unique, "hal")
        cid = config["id"]
        path = f"/api/v1/mcp/configs/{cid}"
        state = api.post(f"{path}/connected_accounts", json={"identifier": "hal"})
        assert state.status_code == 200
        (entry,) = state.json()["connected_accounts"]
        assert entry["connected_account_status"] == "ACTIVE"
        assert entry["connected_account_id"].startswith("ca_")
        assert entry["authentication_link"] == ""
        linked = api.post(
            f"{path}/connected_accounts", json={"identifier": "ivy", "include_auth_link": True}
        )
        assert linked.status_code == 200
        (entry,) = linked.json()["connected_accounts"]
        assert entry["connection_name"] == conn
        assert entry["authentication_link"].startswith(f"{server.url}/connect/")
        assert entry["connected_account_status"] == "PENDING_AUTH"  # created by the link
        bad = api.post(f"{path}/connected_accounts", json={"include_auth_link": "yes", "x": 1})
        assert bad.status_code == 400
        assert _fields(bad) == {"identifier", "include_auth_link", "x"}
        missing = api.post(
            "/api/v1/mcp/configs/cfg_nope/connected_accounts", json={"identifier": "a"}
        )
        assert missing.status_code == 404
        token = api.post(f"{path}/tokens", json={"identifier": "hal"})
        assert token.status_code == 200
        assert set(token.json()) == {"token", "expires_at", "mcp_server_url", "access_level"}
        assert token.json()["access_level"] == "FULL"
        assert token.json()["mcp_server_url"] == config["mcp_server_url"]
        for expiry in ("59s", "86401s", "soon", 5):
            refused = api.post(f"{path}/tokens", json={"identifier": "hal", "expiry": expiry})
            assert refused.status_code == 400 and _fields(refused) == {"expiry"}, expiry
        assert (
            api.post(f"{path}/tokens", json={"identifier": "hal", "expiry": "60s"}).status_code
            == 200
        )
        assert (
            api.post(f"{path}/tokens", json={"identifier": "hal", "expiry": "86400s"}).status_code
            == 200
        )
        assert api.post(f"{path}/tokens", json={}).status_code == 400
        assert (
            api.post("/api/v1/mcp/configs/cfg_x/tokens", json={"identifier": "a"}).status_code
            == 404
        )


async def test_two_connections_of_one_provider_and_connection_urls(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, _ = setup_config(api, upstream, unique, "jo")
        second = f"second-{unique}"
        made = api.post(
            "/api/v1/connections",
            params={"flags.is_app": "true"},
            json={"provider_key": provider, "key_id": second},
        )
        assert made.status_code == 201, made.text
        account = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": second,
                "identifier": "jo",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": {"api_key": "k-2"}}}
                },
            },
        )
        assert account.status_code == 201, account.text
        both = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": f"both-{unique}",
                "connection_tool_mappings": [
                    {"connection_name": conn, "tools": [f"items_{unique}"]},
                    {"connection_name": second, "tools": [f"items_{unique}"]},
                ],
            },
        )
        assert both.status_code == 201, both.text
        config = both.json()["config"]
        token = api.post(
            f"/api/v1/mcp/configs/{config['id']}/tokens", json={"identifier": "jo"}
        ).json()["token"]
        conn_token = api.post(f"/api/v1/mcp/connections/{second}/tokens", json={"identifier": "jo"})
        assert conn_token.status_code == 200
        assert (
            api.post("/api/v1/mcp/connections/nope/tokens", json={"identifier": "jo"}).status_code
            == 404
        )
    first_name = f"{conn}__items_{unique}"
    async with mcp_session(config["mcp_server_url"], token) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"{conn}__items_{unique}", f"{second}__items_{unique}"}
        upstream.clear()
        result = await session.call_tool(f"{second}__items_{unique}", {"owner": "o"})
        assert result.is_error is False
        assert upstream.requests[-1].header("X-Api-Key") == "k-2"
        result = await session.call_tool(first_name, {"owner": "o"})
        assert upstream.requests[-1].header("X-Api-Key") == "k-secret-1"
    url = f"{server.url}/mcp/v3/connections/{second}"
    async with mcp_session(url, conn_token.json()["token"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {f"items_{unique}", f"erase_{unique}", f"status_{unique}"}
        upstream.clear()
        await session.call_tool(f"items_{unique}", {"owner": "o"})
        assert upstream.requests[-1].header("X-Api-Key") == "k-2"
    # a config token does not open a connection URL
    async with httpx.AsyncClient() as http:
        refused = await http.post(url, json={}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
