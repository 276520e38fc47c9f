"""The tool lists are served from a per-process index built once per cache generation
(tools/index.py), the generation being read on every list request: a change made through
one process is in the next list of another process on the same database at once (no
waiting for the poll), and the answers are those of the rows."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.servers import Server, create_client, run_cli
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["definition"]["name"] for t in response.json()["tools"]]


def _available(api: httpx.Client, who: str) -> list[dict[str, Any]]:
    """Every page of `/tools/available`: it lists the tools of every enabled connection's
    provider in the environment, other tests' built-in ones included."""
    tools: list[dict[str, Any]] = []
    token = ""
    for _ in range(100):
        params = {"identifier": who, "page_size": "1000", "page_token": token}
        body = api.get("/api/v1/tools/available", params=params).json()
        tools += body["tools"]
        token = body.get("next_page_token", "")
        if not token:
            return tools
    raise AssertionError("/tools/available never ended")


def _lists(api: httpx.Client, provider: str, who: str) -> dict[str, Any]:
    """What each list route answers for the provider's tools."""
    return {
        "list": _names(api.get("/api/v1/tools", params={"filter.provider": provider})),
        "query": _names(
            api.get(
                "/api/v1/tools",
                params={"filter.provider": provider, "filter.query": "CACHED ITEMS"},
            )
        ),
        "full": [
            (t["definition"]["name"], t["binding"]["path"])
            for t in api.get(
                "/api/v1/tools", params={"filter.provider": provider, "view": "full"}
            ).json()["tools"]
        ],
        "summary": api.get(
            "/api/v1/tools", params={"filter.provider": provider, "filter.summary": "true"}
        ).json()["tool_names"],
        "scoped": [
            e["tool"]["definition"]["name"]
            for e in api.get(
                "/api/v1/tools/scoped", params={"identifier": who, "filter.providers": provider}
            ).json()["tools"]
        ],
        "available": [
            t["definition"]["name"]
            for t in _available(api, who)
            if t["provider"] == provider.upper()
        ],
        "search": [
            r["tool"]["definition"]["name"]
            for r in api.post(
                "/api/v1/tools:search",
                json={"query": "cached items", "providers": [provider], "view": "full"},
            ).json()["results"]
        ],
    }


def test_lists_follow_changes_made_on_another_process_at_once(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    who = f"cache-{unique}"
    with server.api(dev_client) as a, strict_server.api(dev_client) as b:
        provider, _, _ = setup_provider(a, upstream, unique, who)
        first = tool_body(provider, f"first_{unique}", description="Cached items, first")
        assert a.post("/api/v1/tools", json=first).status_code == 201
        before = _lists(b, provider, who)  # b builds its index
        assert before["list"] == before["summary"] == [f"first_{unique}"]
        assert before["query"] == before["scoped"] == before["available"] == before["search"]
        assert before["full"] == [(f"first_{unique}", "/owners/{owner}/items")]

        second = tool_body(provider, f"second_{unique}", description="More cached items")
        assert a.post("/api/v1/tools", json=second).status_code == 201
        added = _lists(b, provider, who)
        for route in ("list", "query", "summary", "scoped", "available"):
            assert added[route] == [f"first_{unique}", f"second_{unique}"], route
        assert set(added["search"]) == {f"first_{unique}", f"second_{unique}"}

        replaced = tool_body(
            provider, f"first_{unique}", description="Something else", path="/elsewhere/{owner}"
        )
        assert a.put(f"/api/v1/tools/first_{unique}", json=replaced).status_code == 200
        changed = _lists(b, provider, who)
        assert changed["query"] == [f"second_{unique}"]  # the description no longer matches
        assert (f"first_{unique}", "/elsewhere/{owner}") in changed["full"]

        assert a.delete(f"/api/v1/tools/second_{unique}").status_code == 200
        after = _lists(b, provider, who)
        for route in ("list", "summary", "scoped", "available"):
            assert after[route] == [f"first_{unique}"], route
        assert after["query"] == after["search"] == []


def test_pages_and_filters_over_the_index(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, f"pages-{unique}")
        names = [f"p{i:02d}_{unique}" for i in range(7)]
        for name in names:
            assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
        seen: list[str] = []
        token = ""
        for _ in range(10):
            params = {"filter.provider": provider, "page_size": "3"}
            if token:
                params["page_token"] = token
            body = api.get("/api/v1/tools", params=params).json()
            assert body["total_size"] == 7 and body["prev_page_token"] == ""
            seen += [t["definition"]["name"] for t in body["tools"]]
            token = body["next_page_token"]
            if not token:
                break
        assert seen == names
        picked = api.get(
            "/api/v1/tools",
            params=[("filter.tool_name", names[5]), ("filter.tool_name", names[1])],
        )
        assert _names(picked) == [names[1], names[5]]  # creation order
        builtin = api.get("/api/v1/tools", params={"filter.provider": "GitHub", "page_size": 2})
        assert builtin.json()["total_size"] >= 10 and len(builtin.json()["tools"]) == 2


def test_a_deleted_api_client_is_refused_by_the_lists_at_once(
    server: Server, strict_server: Server
) -> None:
    client = create_client(server.backend, "dev")
    token = strict_server.token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{strict_server.url}/api/v1/tools", headers=headers).status_code == 200
    run_cli(server.backend, "env", "delete-client", client["client_id"])
    refused = httpx.get(f"{strict_server.url}/api/v1/tools", headers=headers)
    assert refused.status_code == 401 and "no longer exists" in refused.json()["message"]
