"""Every built-in tool run end to end: one real server whose built-in providers point at a
local recording upstream (AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE), one connection and connected
account per provider, `POST /api/v1/execute_tool` per tool, and the request the upstream got
(method, path, query, body, credentials) compared with the API's documented request. Also:
built-in tools in listings, search, scoped/available, and read-only."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from authrelay.providers.catalog import load_catalog
from tests.conftest import new_backend
from tests.support.servers import Backend, Server, create_client, start_server
from tests.support.upstream import RecordingUpstream
from tests.tools.builtin_cases import CASES, Case

PROVIDERS = sorted({c.tool.split("_")[0] for c in CASES})


@dataclass
class Setup:
    server: Server
    client: dict[str, str]
    who: str
    connections: dict[str, str]  # provider → connection name
    accounts: dict[str, str]  # provider → connected account id


def _secret(provider: str) -> str:
    return f"tok-{provider}-{secrets.token_hex(4)}"


def _connect(api: httpx.Client, provider: str, name: str, who: str, secret: str) -> str:
    pattern = load_catalog().get(provider)
    assert pattern is not None
    kind = pattern.definition.auth_patterns[0].type
    body: dict[str, object] = {"provider_key": provider, "key_id": name}
    if kind == "OAUTH":
        body["oauth_config"] = {"client_id": "cid", "client_secret": "csecret"}
        authorization: dict[str, object] = {"oauth_token": {"access_token": secret}}
    else:
        fields = pattern.definition.auth_patterns[0].fields
        authorization = {"static_auth": {"details": {f.field_name: secret for f in fields}}}
    made = api.post("/api/v1/connections", params={"flags.is_app": "true"}, json=body)
    assert made.status_code == 201, made.text
    connected: dict[str, object] = {"authorization_details": authorization}
    variables = re.findall(r"\{\{(\w+)\}\}", pattern.definition.proxy_url)
    if variables:  # jira's cloud_id: required, though the override replaces the URL
        connected["api_config"] = {"path_variables": {v: "site1" for v in variables}}
    account = api.post(
        "/api/v1/connected_accounts",
        json={"connector": name, "identifier": who, "connected_account": connected},
    )
    assert account.status_code == 201, account.text
    return str(account.json()["connected_account"]["id"])


@pytest.fixture(scope="module")
def builtin_upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def setup(
    backend: Backend,
    builtin_upstream: RecordingUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Setup, dict[str, str]]]:
    # A store of its own: stopping this server must not touch the shared server's data dir.
    own = new_backend(backend.name, tmp_path_factory.mktemp("builtin-data"))
    server = start_server(
        own,
        tmp_path_factory.mktemp("builtin"),
        AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE=builtin_upstream.url,
    )
    try:
        client = create_client(own, "dev")
        unique = secrets.token_hex(4)
        who = f"bt-user-{unique}"
        secrets_of = {p: _secret(p) for p in PROVIDERS}
        connections = {p: f"bt-{p}-{unique}" for p in PROVIDERS}
        with server.api(client) as api:
            accounts = {p: _connect(api, p, connections[p], who, secrets_of[p]) for p in PROVIDERS}
        yield Setup(server, client, who, connections, accounts), secrets_of
    finally:
        server.stop()


def _check(case: Case, seen: object, provider: str, secret: str) -> None:
    from tests.support.upstream import Recorded

    assert isinstance(seen, Recorded)
    assert (seen.method, seen.raw_path) == (case.method, f"/{provider}{case.target}"), case.tool
    assert seen.header("Authorization") == f"Bearer {secret}", case.tool
    assert seen.header("Accept") == "application/json"
    if case.body is None:
        assert seen.body == b"" and seen.header("Content-Type") is None, case.tool
    elif isinstance(case.body, str):
        assert seen.header("Content-Type") == "application/x-www-form-urlencoded", case.tool
        assert seen.body.decode() == case.body, case.tool
    else:
        assert seen.header("Content-Type") == "application/json", case.tool
        assert json.loads(seen.body) == case.body, case.tool
    if provider == "notion":
        assert seen.header("Notion-Version") == "2022-06-28"


def test_every_builtin_tool_sends_the_documented_request(
    setup: tuple[Setup, dict[str, str]], builtin_upstream: RecordingUpstream
) -> None:
    env, secrets_of = setup
    with env.server.api(env.client) as api:
        for case in CASES:
            provider = case.tool.split("_")[0]
            builtin_upstream.clear()
            response = api.post(
                "/api/v1/execute_tool",
                json={
                    "tool_name": case.tool,
                    "params": case.params,
                    "identifier": env.who,
                    "connector": env.connections[provider],
                },
            )
            assert response.status_code == 200, (case.tool, response.text)
            assert response.json()["execution_id"].startswith("exe_")
            assert len(builtin_upstream.requests) == 1, case.tool
            _check(case, builtin_upstream.requests[0], provider, secrets_of[provider])


def test_builtin_tools_check_inputs_and_accounts(
    setup: tuple[Setup, dict[str, str]], builtin_upstream: RecordingUpstream
) -> None:
    env, _ = setup
    with env.server.api(env.client) as api:
        builtin_upstream.clear()
        bad = api.post(
            "/api/v1/execute_tool",
            json={
                "tool_name": "github_create_issue",
                "params": {"owner": "o", "title": "", "extra": 1},
                "identifier": env.who,
            },
        )
        assert bad.status_code == 400, bad.text
        fields = {v["field"] for v in bad.json()["details"][0]["field_violations"]}
        assert "params.repo" in fields and "params.title" in fields
        assert builtin_upstream.requests == []
        # connected_account_id of another provider is refused
        wrong = api.post(
            "/api/v1/execute_tool",
            json={
                "tool_name": "github_get_me",
                "connected_account_id": env.accounts["slack"],
            },
        )
        assert wrong.status_code == 400 and "slack" in wrong.text
        # without connector: the user's only GitHub account
        found = api.post(
            "/api/v1/execute_tool", json={"tool_name": "github_get_me", "identifier": env.who}
        )
        assert found.status_code == 200, found.text
        assert builtin_upstream.requests[-1].raw_path == "/github/user"


def test_builtin_tools_are_listed_searched_and_scoped(
    setup: tuple[Setup, dict[str, str]],
) -> None:
    env, _ = setup
    per_provider = {p: [c.tool for c in CASES if c.tool.startswith(f"{p}_")] for p in PROVIDERS}
    with env.server.api(env.client) as api:
        listed = api.get("/api/v1/tools", params={"filter.provider": "GITHUB", "view": "full"})
        assert listed.status_code == 200, listed.text
        body = listed.json()
        names = [t["definition"]["name"] for t in body["tools"]]
        assert sorted(names) == sorted(per_provider["github"])
        assert body["total_size"] == len(per_provider["github"])
        first = body["tools"][0]
        assert first["provider"] == "GITHUB" and first["is_default"] is True
        assert first["source"] == "builtin" and first["binding"]["method"]
        assert first["metadata"]["docs"].startswith("https://docs.github.com/")
        # keyset pages walk the built-in tools then the stored ones, without repeats
        seen: list[str] = []
        token = ""
        while True:
            page = api.get(
                "/api/v1/tools",
                params={"page_size": "25", "page_token": token, "filter.summary": "true"},
            ).json()
            seen += page["tool_names"]
            token = page["next_page_token"]
            if not token:
                break
        assert len(seen) == len(set(seen)) == page["total_size"]
        assert {c.tool for c in CASES} <= set(seen)
        # by id and by name
        one = api.get(f"/api/v1/tools/{first['id']}")
        assert one.status_code == 200 and one.json()["tool"]["definition"]["name"] == names[0]
        assert api.get(f"/api/v1/tools/{names[0]}").json()["tool"]["id"] == first["id"]
        # search
        found = api.post(
            "/api/v1/tools:search", json={"query": "create jira issue", "view": "full"}
        ).json()
        assert found["results"][0]["tool"]["definition"]["name"] == "jira_create_issue"
        only = api.post(
            "/api/v1/tools:search",
            json={"query": "send message", "providers": ["slack"], "view": "full"},
        ).json()
        assert only["results"][0]["tool"]["definition"]["name"] == "slack_send_message"
        assert all(r["tool"]["provider"] == "SLACK" for r in only["results"])
        # scoped: one entry per (account, tool) of the user's providers
        scoped = api.get(
            "/api/v1/tools/scoped", params={"identifier": env.who, "page_size": "1000"}
        ).json()
        assert scoped["total_size"] == len(CASES)
        pairs = {
            (e["connected_account_id"], e["tool"]["definition"]["name"]) for e in scoped["tools"]
        }
        assert (env.accounts["stripe"], "stripe_get_balance") in pairs
        mine = api.get(
            "/api/v1/tools",
            params={"filter.identifier": env.who, "filter.summary": "true", "page_size": "1000"},
        ).json()
        assert sorted(mine["tool_names"]) == sorted(c.tool for c in CASES)
        available = api.get(
            "/api/v1/tools/available", params={"identifier": env.who, "page_size": "1000"}
        ).json()
        assert {t["definition"]["name"] for t in available["tools"]} >= {c.tool for c in CASES}


def test_builtin_tools_are_read_only(setup: tuple[Setup, dict[str, str]]) -> None:
    env, _ = setup
    with env.server.api(env.client) as api:
        tool = api.get("/api/v1/tools/github_get_repo").json()["tool"]
        body = {
            "provider": "github",
            "definition": tool["definition"],
            "binding": tool["binding"],
        }
        replaced = api.put("/api/v1/tools/github_get_repo", json=body)
        assert replaced.status_code == 403 and "built-in" in replaced.json()["message"]
        deleted = api.delete(f"/api/v1/tools/{tool['id']}")
        assert deleted.status_code == 403, deleted.text
        taken = api.post("/api/v1/tools", json=body)
        assert taken.status_code == 409 and "built-in" in taken.json()["message"]
        synced = api.post("/api/v1/tools:sync", json={"provider": "github", "tools": [body]})
        assert synced.status_code == 400 and "github_get_repo" in synced.text
        # a custom tool of a built-in provider sits next to the built-in ones
        custom = {**body, "definition": {**tool["definition"], "name": f"gh_custom_{env.who[-8:]}"}}
        made = api.post("/api/v1/tools", json=custom)
        assert made.status_code == 201, made.text
        assert made.json()["tool"]["source"] == "api"
        names = api.get(
            "/api/v1/tools", params={"filter.provider": "github", "filter.summary": "true"}
        ).json()["tool_names"]
        assert names[-1] == custom["definition"]["name"] and "github_get_repo" in names
        assert api.delete(f"/api/v1/tools/{custom['definition']['name']}").status_code == 200
        after = api.get("/api/v1/tools/github_get_repo").json()["tool"]
        assert after == tool
