"""scalekit-sdk-python 2.21.0, configured only with ScalekitClient(env_url, client_id,
client_secret), calls every Agent Auth method against `authrelay serve --tls-cert/--tls-key`
(gRPC over TLS, trust from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH and REQUESTS_CA_BUNDLE). The SDK
runs once per module in its own process (python_sdk.py); each test checks one area's answers."""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
import pytest

from tests.scalekit_sdk.conftest import (
    TlsServer,
    run_driver,
    sdk_env,
    trusting,
    verifying_user,
    world,
)
from tests.support.oauth_server import OAuthServer
from tests.support.upstream import RecordingUpstream


@pytest.fixture(scope="module")
def py_run(
    tls_server: TlsServer, upstream: RecordingUpstream, oauth_as: OAuthServer
) -> dict[str, Any]:
    import secrets

    unique = secrets.token_hex(4)
    verify = trusting(tls_server.ca_file)
    cfg = world(tls_server.url, verify, tls_server.backend, upstream, unique, oauth_as)
    ca = str(tls_server.ca_file)
    env = sdk_env(GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=ca, REQUESTS_CA_BUNDLE=ca)
    seen: list[dict[str, list[str]]] = []
    results = run_driver(
        [sys.executable, "python_sdk.py"], cfg, env, authorize=verifying_user(verify, seen)
    )
    results["_cfg"] = cfg
    results["_upstream"] = [
        (r.raw_path, r.header("X-Api-Key"), r.body.decode(errors="replace"))
        for r in upstream.requests
    ]
    results["_bearer"] = {r.raw_path: r.header("Authorization") for r in upstream.requests}
    results["_verify_queries"] = seen
    results["_verify"] = verify
    results["_whoami"] = oauth_as.whoami_url
    return results


def ok(results: dict[str, Any], step: str) -> Any:
    got = results.get(step)
    assert got is not None, f"{step} did not run"
    assert "ok" in got, f"{step} failed: {json.dumps(got['error'])}"
    return got["ok"]


def test_connected_accounts(py_run: dict[str, Any]) -> None:
    cfg = py_run["_cfg"]
    assert ok(py_run, "ScalekitClient") == {"token": True}
    made = ok(py_run, "connected_accounts.create_connected_account")["connected_account"]
    assert made["identifier"] == cfg["identifier"] and made["connector"] == cfg["connection"]
    assert made["status"] == "ACTIVE" and made["id"]
    auth = ok(py_run, "connected_accounts.get_connected_account_by_identifier")
    assert auth["connected_account"]["id"] == made["id"]
    details = ok(py_run, "connected_accounts.get_connected_account_details_by_identifier")
    assert details["connected_account"]["id"] == made["id"]
    listed = ok(py_run, "connected_accounts.list_connected_accounts")["connected_accounts"]
    assert [a["id"] for a in listed] == [made["id"]]
    updated = ok(py_run, "connected_accounts.update_connected_account")["connected_account"]
    assert updated["id"] == made["id"] and updated["api_config"] == {"region": "eu"}
    link = ok(py_run, "connected_accounts.get_magic_link_for_connected_account")
    assert link["link"].startswith(cfg["env_url"]) and link["expiry"]
    other = ok(py_run, "actions.create_connected_account")["connected_account"]
    assert other["identifier"] == f"other-{cfg['unique']}" and other["status"] == "ACTIVE"
    again = ok(py_run, "actions.get_or_create_connected_account")["connected_account"]
    assert again["id"] == other["id"]
    new = ok(py_run, "actions.get_or_create_connected_account(new)")["connected_account"]
    assert new["identifier"] == f"third-{cfg['unique']}" and new["id"] != other["id"]
    upserted = ok(py_run, "actions.upsert_connected_account")["connected_account"]
    assert upserted["id"] == new["id"]
    assert ok(py_run, "actions.update_connected_account")["connected_account"]["api_config"] == {
        "region": "us"
    }
    assert ok(py_run, "actions.get_connected_account")["connected_account"]["id"] == other["id"]
    typed = ok(py_run, "actions.get_connected_account_details")["connected_account"]
    assert typed["id"] == other["id"]
    # the typed list items have no id (the SDK's ConnectedAccountForList model)
    typed_list = ok(py_run, "actions.list_connected_accounts")["connected_accounts"]
    assert {a["identifier"] for a in typed_list} == {
        cfg["identifier"],
        other["identifier"],
        new["identifier"],
    }
    assert {a["connector"] for a in typed_list} == {cfg["connection"]}
    assert {a["status"] for a in typed_list} == {"ACTIVE"}
    assert ok(py_run, "actions.get_authorization_link")["link"].startswith(cfg["env_url"])
    ok(py_run, "actions.delete_connected_account")
    ok(py_run, "connected_accounts.delete_connected_account")
    # both deleted accounts are gone, the first one stays
    left = ok(py_run, "actions.list_connected_accounts(after deletes)")["connected_accounts"]
    assert [a["identifier"] for a in left] == [cfg["identifier"]]


def test_verify_user_with_an_unknown_request_is_refused_as_the_sdk_expects(
    py_run: dict[str, Any],
) -> None:
    for step in (
        "connected_accounts.verify_connected_account_user",
        "actions.verify_connected_account_user",
    ):
        error = py_run[step]["error"]
        assert error["class"] == "ScalekitNotFoundException", error
        assert "no pending authorization with that auth_request_id" in error["message"]


def the_users_token_at_the_authorization_server(py_run: dict[str, Any], bearer: str) -> Any:
    """What the authorization server says of a bearer token the upstream received."""
    assert bearer.startswith("Bearer "), bearer
    answer = httpx.get(py_run["_whoami"], headers={"Authorization": bearer})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_verify_user_after_an_oauth_authorization_activates_the_account(
    py_run: dict[str, Any],
) -> None:
    cfg = py_run["_cfg"]
    conn, u = cfg["oauth_connection"], cfg["unique"]
    low, typed = f"verified-{u}@example.com", f"averified-{u}@example.com"
    # the user came back to the app's verify URL with the link's state and a request id
    assert [q["state"] for q in py_run["_verify_queries"]] == [["st-low"], ["st-typed"]]
    request_ids = [q["auth_request_id"][0] for q in py_run["_verify_queries"]]
    assert all(r.startswith("flow_") for r in request_ids) and len(set(request_ids)) == 2
    link = ok(py_run, "connected_accounts.get_magic_link_for_connected_account(verify)")
    assert link["link"].startswith(cfg["env_url"] + "/connect/")
    pending = ok(py_run, "connected_accounts.get_connected_account_details_by_identifier(pending)")
    assert pending["connected_account"]["status"] == "PENDING_VERIFICATION"

    # low level: the answer is where to send the user next, then the account is ACTIVE
    verified = ok(py_run, "connected_accounts.verify_connected_account_user(verified)")
    done = verified["post_user_verify_redirect_url"]
    assert done.startswith(cfg["env_url"] + "/")
    page = httpx.get(done, verify=py_run["_verify"])
    assert page.status_code == 200 and "connected" in page.text, page.text
    account = ok(py_run, "connected_accounts.get_connected_account_by_identifier(verified)")
    account = account["connected_account"]
    assert account["id"] == pending["connected_account"]["id"]
    assert (account["identifier"], account["connector"]) == (low, conn)
    assert (account["status"], account["authorization_type"]) == ("ACTIVE", "OAUTH")
    token = account["authorization_details"]["oauth_token"]
    assert "read" in token["scopes"] and token["access_token"]
    # the account works: execute_tool reaches the upstream with the user's access token
    executed = ok(py_run, "tools.execute_tool(verified)")
    path = "/api/owners/verified-low/items"
    assert executed["data"]["path"] == path and executed["execution_id"].startswith("exe_")
    assert py_run["_bearer"][path] == f"Bearer {token['access_token']}"
    assert (
        the_users_token_at_the_authorization_server(py_run, py_run["_bearer"][path])["sub"] == low
    )

    # through actions: the same, with typed answers
    made = ok(py_run, "actions.get_authorization_link(verify)")
    assert made["link"].startswith(cfg["env_url"] + "/connect/") and made["expiry"]
    typed_done = ok(py_run, "actions.verify_connected_account_user(verified)")
    assert typed_done["post_user_verify_redirect_url"].startswith(cfg["env_url"] + "/")
    again = py_run["actions.verify_connected_account_user(again)"]["error"]
    assert again["grpc_status"] == "FAILED_PRECONDITION", again
    got = ok(py_run, "actions.get_connected_account(verified)")["connected_account"]
    assert (got["identifier"], got["connector"], got["status"]) == (typed, conn, "ACTIVE")
    assert got["id"] and got["id"] != account["id"]
    act = ok(py_run, "actions.execute_tool(verified)")
    assert act["data"]["path"] == "/api/owners/verified-act/items"
    proxied = ok(py_run, "actions.request(verified)")
    assert proxied["status"] == 200 and proxied["json"]["path"] == "/api/owners/verified-req/items"
    for path in ("/api/owners/verified-act/items", "/api/owners/verified-req/items"):
        who = the_users_token_at_the_authorization_server(py_run, py_run["_bearer"][path])
        assert who["sub"] == typed and who["client_id"] == "sdk-app"


def test_tools_and_execute_tool_reach_the_upstream_with_the_users_key(
    py_run: dict[str, Any],
) -> None:
    cfg = py_run["_cfg"]
    listed = ok(py_run, "tools.list_tools")["tools"]
    assert [t["definition"]["name"] for t in listed] == [cfg["tool"]]
    scoped = ok(py_run, "tools.list_scoped_tools")["tools"]
    assert cfg["tool"] in [t["tool"]["definition"]["name"] for t in scoped]
    found = ok(py_run, "tools.search_tools")["tools"]
    assert found and found[0]["name"] == cfg["tool"]
    executed = ok(py_run, "tools.execute_tool")
    assert executed["execution_id"].startswith("exe_")
    assert executed["data"]["path"] == "/api/owners/sdk/items?per_page=2"
    assert ("/api/owners/sdk/items?per_page=2", "k-sdk-1", "{}") in [
        (p, k, b or "{}") for p, k, b in py_run["_upstream"]
    ]
    typed = ok(py_run, "actions.list_tools")["tools"]
    assert [t["definition"]["name"] for t in typed] == [cfg["tool"]]
    act = ok(py_run, "actions.execute_tool")
    assert act["data"]["path"] == "/api/owners/act/items" and act["execution_id"]
    lc = ok(py_run, "actions.langchain.get_tools")
    assert lc["names"] == [cfg["tool"]]
    assert "/api/owners/lc/items" in lc["result"] and "execution_id" in lc["result"]
    proxied = ok(py_run, "actions.request")
    assert proxied["status"] == 200 and proxied["json"]["path"] == "/api/owners/req/items"


def test_mcp_configs_instances_and_session_tokens(py_run: dict[str, Any]) -> None:
    cfg = py_run["_cfg"]
    u = cfg["unique"]
    config = ok(py_run, "mcp.create_config")["config"]
    assert config["name"] == f"cfg_{u}" and config["description"] == "first"
    assert [c["id"] for c in ok(py_run, "mcp.list_configs")["configs"]] == [config["id"]]
    assert ok(py_run, "mcp.update_config")["config"]["description"] == "second"
    accounts = ok(py_run, "mcp.list_mcp_connected_accounts")["connected_accounts"]
    assert [a["connection_name"] for a in accounts] == [cfg["connection"]]
    token = ok(py_run, "mcp.create_session_token")
    assert token["token"] and token["expires_at"]
    assert ok(py_run, "mcp.create_session_token(connection)")["token"]
    instance = ok(py_run, "mcp.ensure_instance")["instance"]
    assert instance["name"] == f"inst-{u}" and instance["id"]
    assert ok(py_run, "mcp.get_instance")["instance"]["id"] == instance["id"]
    listed = ok(py_run, "mcp.list_instances")["instances"]
    assert instance["id"] in [i["id"] for i in listed]
    assert ok(py_run, "mcp.update_instance")["instance"]["name"] == f"renamed-{u}"
    state = ok(py_run, "mcp.get_instance_auth_state")["connections"]
    assert [(c["connection_name"], c["connected_account_status"]) for c in state] == [
        (cfg["connection"], "ACTIVE")
    ]
    ok(py_run, "mcp.delete_instance")
    typed = ok(py_run, "actions.mcp.create_config")["config"]
    assert typed["name"] == f"acfg_{u}"
    for step in ("actions.mcp.list_configs", "actions.list_configs"):
        assert [c["name"] for c in ok(py_run, step)["configs"]] == [f"acfg_{u}"]
    assert ok(py_run, "actions.mcp.update_config")["config"]["description"] == "typed 2"
    assert ok(py_run, "actions.update_config")["config"]["description"] == "typed 3"
    typed_accounts = ok(py_run, "actions.mcp.list_mcp_connected_accounts")["connected_accounts"]
    assert [a["connection_name"] for a in typed_accounts] == [cfg["connection"]]
    assert ok(py_run, "actions.mcp.create_session_token")["token"]
    ainst = ok(py_run, "actions.mcp.ensure_instance")["instance"]
    assert ok(py_run, "actions.ensure_instance")["instance"]["id"] == ainst["id"]
    for step in ("actions.mcp.get_instance", "actions.get_instance"):
        assert ok(py_run, step)["instance"]["id"] == ainst["id"]
    for step in ("actions.mcp.list_instances", "actions.list_instances"):
        assert ainst["id"] in [i["id"] for i in ok(py_run, step)["instances"]]
    assert ok(py_run, "actions.update_instance")["instance"]["name"] == f"ai3-{u}"
    assert ok(py_run, "actions.mcp.update_instance")["instance"]["name"] == f"ai2-{u}"
    for step in ("actions.mcp.get_instance_auth_state", "actions.get_instance_auth_state"):
        state = ok(py_run, step)["connections"]
        assert [(c["connection_name"], c["connected_account_status"]) for c in state] == [
            (cfg["connection"], "ACTIVE")
        ]
    for step in (
        "actions.mcp.delete_instance",
        "actions.mcp.delete_config",
        "actions.delete_config",
        "mcp.delete_config",
    ):
        ok(py_run, step)
    made = ok(py_run, "actions.create_config")["config"]
    assert made["name"] == f"bcfg_{u}" and made["description"] == "via actions"
    assert [m["connection_name"] for m in made["connection_tool_mappings"]] == [cfg["connection"]]
    # authrelay's configs serve 1 to 25 connections (docs/api.md): none is refused, named
    empty = py_run["actions.create_config(no mappings)"]["error"]
    assert empty["class"] == "ScalekitBadRequestException", empty
    assert empty["field_violations"] == ["connection_tool_mappings"], empty
    assert ok(py_run, "mcp.list_configs(after deletes)").get("configs", []) == []
    # the second delete of the same instance: the SDK's not-found exception
    assert "ScalekitNotFoundException" in py_run["actions.delete_instance"]["error"]["classes"]


def test_providers_and_connections(py_run: dict[str, Any]) -> None:
    cfg = py_run["_cfg"]
    u = cfg["unique"]
    low = ok(py_run, "providers.create_custom_provider")["provider"]
    assert low["display_name"] == f"Low {u}" and low["identifier"]
    assert ok(py_run, "providers.update_custom_provider")["provider"]["description"] == "low 2"
    listed = ok(py_run, "providers.list_providers")["providers"]
    assert [p["identifier"] for p in listed] == [low["identifier"]]
    ok(py_run, "providers.delete_custom_provider")
    assert ok(py_run, "providers.list_providers(after delete)").get("providers", []) == []
    typed = ok(py_run, "actions.providers.create_custom_provider")["provider"]
    assert typed["display_name"] == f"Typed {u}" and typed["metadata"] == {"team": "sdk"}
    assert typed["proxy_url"] == f"https://widgets-{u}.example.com/api"
    updated = ok(py_run, "actions.providers.update_custom_provider")["provider"]
    assert updated["description"] == "typed 2" and updated["metadata"] == {"team": "sdk"}
    names = [p["display_name"] for p in ok(py_run, "actions.providers.list_providers")["providers"]]
    assert names == [f"Typed {u}"]
    ok(py_run, "actions.providers.delete_custom_provider")
    conns = ok(py_run, "connection.list_app_connections")["connections"]
    assert [(c["key_id"], c["provider_key"], c["type"]) for c in conns] == [
        (cfg["connection"], cfg["provider"], "API_KEY")
    ]
    made = ok(py_run, "connection.create_environment_connection")["connection"]
    assert (made["key_id"], made["provider_key"], made["enabled"]) == (
        f"envc-{u}",
        cfg["provider"],
        True,
    )
    got = ok(py_run, "connection.get_environment_connection")["connection"]
    assert got["id"] == made["id"] and got["create_time"] == made["create_time"]
    renamed = ok(py_run, "connection.update_environment_connection")["connection"]
    assert (renamed["id"], renamed["key_id"]) == (made["id"], f"envc2-{u}")
    # ListConnections by domain or organization: authrelay has neither, so none is found
    assert ok(py_run, "connection.list_connections_by_domain") == {}
    assert ok(py_run, "connection.list_connections") == {}
    # the organizations' SSO connections: not served (docs/scalekit-sdks.md), named
    for step, method in (
        ("connection.get_connection", "GetConnection"),
        ("connection.enable_connection", "EnableConnection"),
        ("connection.disable_connection", "DisableConnection"),
        ("connection.create_connection", "CreateConnection"),
        ("connection.delete_connection", "DeleteConnection"),
    ):
        error = py_run[step]["error"]
        assert error["class"] == "ScalekitNotImplementedException", error
        assert f"scalekit.v1.connections.ConnectionService/{method} is not" in error["message"]


def test_error_paths_raise_the_sdks_exceptions(py_run: dict[str, Any]) -> None:
    unknown = py_run["error.unknown_account"]["error"]
    assert unknown["class"] == "ScalekitNotFoundException", unknown
    bad = py_run["error.bad_input"]["error"]
    assert bad["class"] == "ScalekitBadRequestException", bad
    assert sorted(bad["field_violations"]) == ["params.limit", "params.owner"], bad
    upstream = py_run["error.upstream_4xx"]["error"]
    assert "ScalekitToolException" in upstream["classes"], upstream
    assert "ScalekitNotFoundException" in upstream["classes"] or upstream["grpc_status"] == (
        "NOT_FOUND"
    )
    assert ok(py_run, "error.expired_token.client") == {"token_was_expired": True}
    tools = ok(py_run, "error.expired_token")["tools"]
    assert [t["definition"]["name"] for t in tools] == [py_run["_cfg"]["tool"]]
    assert ok(py_run, "error.expired_token.renewed") is True
