"""@scalekit-sdk/node 2.11.0 (pinned, installed from npm at test time) runs its 15 Agent Auth
calls against authrelay over h2c (an `http://` env URL: the session server) and over TLS
(`https://`, NODE_EXTRA_CA_CERTS naming the test CA). The Node process must end normally:
an uncaught ERR_HTTP2_ERROR fails the run."""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
from typing import Any

import httpx
import pytest

from tests.scalekit_sdk.conftest import (
    TlsServer,
    ensure_node_sdk,
    run_driver,
    sdk_env,
    trusting,
    verifying_user,
    world,
)
from tests.support.oauth_server import OAuthServer
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


def node_run(url: str, verify: ssl.SSLContext | bool, server: Server, upstream: RecordingUpstream,
             oauth_as: OAuthServer, **env: str) -> dict[str, Any]:  # fmt: skip
    package = ensure_node_sdk()
    cfg = world(url, verify, server.backend, upstream, secrets.token_hex(4), oauth_as)
    node = shutil.which("node")
    assert node is not None
    seen: list[dict[str, list[str]]] = []
    env_vars = sdk_env(SCALEKIT_NODE_SDK=str(package), **env)
    results = run_driver(
        [node, "node_sdk.js"], cfg, env_vars, authorize=verifying_user(verify, seen)
    )
    results["_cfg"] = cfg
    results["_verify_queries"] = seen
    results["_verify"] = verify
    results["_bearer"] = {r.raw_path: r.header("Authorization") for r in upstream.requests}
    results["_whoami"] = oauth_as.whoami_url
    return results


@pytest.fixture(scope="module", params=["h2c", "tls"])
def node_results(
    request: pytest.FixtureRequest,
    server: Server,
    upstream: RecordingUpstream,
    oauth_as: OAuthServer,
) -> dict[str, Any]:
    if request.param == "h2c":
        return node_run(server.url, False, server, upstream, oauth_as)
    tls_server: TlsServer = request.getfixturevalue("tls_server")
    ca = str(tls_server.ca_file)
    verify = trusting(tls_server.ca_file)
    return node_run(tls_server.url, verify, tls_server, upstream, oauth_as, NODE_EXTRA_CA_CERTS=ca)


def ok(results: dict[str, Any], step: str) -> Any:
    got = results.get(step)
    assert got is not None, f"{step} did not run"
    assert "ok" in got, f"{step} failed: {json.dumps(got['error'])}"
    return got["ok"]


def test_first_call_is_answered_unauthenticated_then_the_sdk_authenticates(
    node_results: dict[str, Any],
) -> None:
    assert ok(node_results, "first_call") == {
        "token_before": False,
        "token_after": True,
        "authentications": 1,
    }


def test_connected_accounts(node_results: dict[str, Any]) -> None:
    cfg = node_results["_cfg"]
    made = ok(node_results, "connectedAccounts.createConnectedAccount")["connectedAccount"]
    assert made["identifier"] == cfg["identifier"] and made["connector"] == cfg["connection"]
    assert made["status"] == 1 or made["status"] == "ACTIVE"
    got = ok(node_results, "connectedAccounts.getConnectedAccountByIdentifier")
    assert got["connectedAccount"]["id"] == made["id"]
    listed = ok(node_results, "connectedAccounts.listConnectedAccounts")["connectedAccounts"]
    assert [a["id"] for a in listed] == [made["id"]]
    updated = ok(node_results, "connectedAccounts.updateConnectedAccount")["connectedAccount"]
    assert updated["apiConfig"] == {"region": "eu"}
    link = ok(node_results, "connectedAccounts.getMagicLinkForConnectedAccount")
    assert link["link"].startswith(cfg["env_url"])
    verify = node_results["connectedAccounts.verifyConnectedAccountUser"]["error"]
    assert "ScalekitServerException" in verify["classes"], verify
    other = ok(node_results, "connectedAccounts.getOrCreateConnectedAccount")["connectedAccount"]
    assert other["identifier"] == f"node-other-{cfg['unique']}" and other["id"] != made["id"]
    ok(node_results, "connectedAccounts.deleteConnectedAccount")
    left = ok(node_results, "connectedAccounts.listConnectedAccounts(after delete)")
    assert [a["identifier"] for a in left["connectedAccounts"]] == [cfg["identifier"]]


def test_verify_user_after_an_oauth_authorization_activates_the_account(
    node_results: dict[str, Any],
) -> None:
    cfg = node_results["_cfg"]
    who = f"node-verified-{cfg['unique']}@example.com"
    [query] = node_results["_verify_queries"]
    assert query["state"] == ["st-node"] and query["auth_request_id"][0].startswith("flow_")
    link = ok(node_results, "connectedAccounts.getMagicLinkForConnectedAccount(verify)")
    assert link["link"].startswith(cfg["env_url"] + "/connect/")
    done = ok(node_results, "connectedAccounts.verifyConnectedAccountUser(verified)")
    assert done["postUserVerifyRedirectUrl"].startswith(cfg["env_url"] + "/")
    page = httpx.get(done["postUserVerifyRedirectUrl"], verify=node_results["_verify"])
    assert page.status_code == 200 and "connected" in page.text, page.text
    got = ok(node_results, "connectedAccounts.getConnectedAccountByIdentifier(verified)")
    account = got["connectedAccount"]
    assert (account["identifier"], account["connector"]) == (who, cfg["oauth_connection"])
    assert account["id"] and account["status"] in (1, "ACTIVE")
    access_token = account["authorizationDetails"]["details"]["value"]["accessToken"]
    executed = ok(node_results, "tools.executeTool(verified)")
    assert executed["data"]["path"] == "/api/owners/verified-node/items"
    proxied = ok(node_results, "actions.request(verified)")
    assert proxied["status"] == 200
    assert proxied["json"]["path"] == "/api/owners/verified-node-req/items"
    for path in ("/api/owners/verified-node/items", "/api/owners/verified-node-req/items"):
        bearer = node_results["_bearer"][path]
        assert bearer == f"Bearer {access_token}"
        answer = httpx.get(node_results["_whoami"], headers={"Authorization": bearer})
        assert answer.status_code == 200 and answer.json()["sub"] == who, answer.text


def test_tools_execute_and_connections(node_results: dict[str, Any]) -> None:
    cfg = node_results["_cfg"]
    listed = ok(node_results, "tools.listTools")["tools"]
    assert [t["definition"]["name"] for t in listed] == [cfg["tool"]]
    scoped = ok(node_results, "tools.listScopedTools")["tools"]
    assert cfg["tool"] in [t["tool"]["definition"]["name"] for t in scoped]
    available = ok(node_results, "tools.listAvailableTools")
    assert cfg["tool"] in json.dumps(available["tools"])
    executed = ok(node_results, "tools.executeTool")
    assert executed["executionId"].startswith("exe_")
    assert executed["data"]["path"] == "/api/owners/node/items?per_page=3"
    conns = ok(node_results, "connection.listAppConnections")["connections"]
    assert cfg["connection"] in json.dumps(conns)
    assert cfg["connection"] in json.dumps(ok(node_results, "actions.listConnections"))
    proxied = ok(node_results, "actions.request")
    assert proxied["status"] == 200 and proxied["json"]["path"] == "/api/owners/req/items"


def test_error_paths(node_results: dict[str, Any]) -> None:
    unknown = node_results["error.unknown_account"]["error"]
    assert unknown["class"] == "ScalekitNotFoundException", unknown
    bad = node_results["error.bad_input"]["error"]
    assert bad["class"] == "ScalekitBadRequestException", bad
    tool_error = node_results["error.upstream_4xx"]["error"]
    assert "ScalekitToolException" in tool_error["classes"] or tool_error["class"].startswith(
        "ScalekitTool"
    ), tool_error
    tools = ok(node_results, "error.expired_token")["tools"]
    assert [t["definition"]["name"] for t in tools] == [node_results["_cfg"]["tool"]]
    assert ok(node_results, "error.expired_token.renewed") == {
        "authentications": 1,
        "renewed": True,
    }
