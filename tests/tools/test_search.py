"""`POST /api/v1/tools:search` in Scalekit's shape (`{query, identifier, top_k}` →
`{tools: [{name, provider, description, score, connections}]}`) and authrelay's richer answer
under `view: "full"`, against a running server."""

from __future__ import annotations

import httpx

from tests.support.servers import Server
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream

S = "/api/v1/tools:search"


def _fields(response: httpx.Response) -> set[str]:
    return {v["field"] for d in response.json()["details"] for v in d["field_violations"]}


def test_scalekit_shape_with_readiness(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, account = setup_provider(api, upstream, unique, "sam")
        names = [f"get_{unique}", f"list_{unique}_items", f"other_{unique}_thing"]
        for name in names:
            assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
        found = api.post(S, json={"query": unique})
        assert found.status_code == 200, found.text
        tools = found.json()["tools"]
        assert set(found.json()) == {"tools"}
        assert {t["name"] for t in tools} == set(names)
        first = tools[0]
        assert set(first) == {"name", "provider", "description", "score", "connections"}
        assert first["provider"] == provider.upper() and first["connections"] == []
        assert [t["score"] for t in tools] == sorted((t["score"] for t in tools), reverse=True)
        # identifier: each result with the user's accounts on its provider's connections
        sam = api.post(S, json={"query": unique, "identifier": "sam"}).json()["tools"]
        assert all(
            t["connections"]
            == [
                {
                    "connection_name": conn,
                    "connected_account_id": account["id"],
                    "readiness_state": "TOOL_READINESS_STATE_READY",
                }
            ]
            for t in sam
        ), sam
        link = api.post(
            "/api/v1/connected_accounts/magic_link", json={"connector": conn, "identifier": "tia"}
        )
        assert link.status_code == 200, link.text
        tia = api.post(S, json={"query": unique, "identifier": "tia"}).json()["tools"]
        (state,) = tia[0]["connections"]
        assert state["readiness_state"] == "TOOL_READINESS_STATE_NEEDS_CONNECTION"
        nobody = api.post(S, json={"query": unique, "identifier": "nobody"}).json()["tools"]
        assert all(t["connections"] == [] for t in nobody)
        # top_k: 0 is the default (10), more than 50 is capped
        assert len(api.post(S, json={"query": unique, "top_k": 1}).json()["tools"]) == 1
        assert len(api.post(S, json={"query": unique, "top_k": 0}).json()["tools"]) == 3
        assert len(api.post(S, json={"query": unique, "top_k": 500}).json()["tools"]) == 3
        assert api.post(S, json={"query": "zz" + unique}).json() == {"tools": []}
        # the full view: authrelay's answer, as before
        full = api.post(S, json={"query": unique, "providers": [provider], "view": "full"})
        assert set(full.json()) == {"results", "total_size"}
        assert full.json()["total_size"] == 3
        assert full.json()["results"][0]["tool"]["definition"]["name"] in names
        basic = api.post(S, json={"query": unique, "view": "basic"}).json()
        assert basic == found.json()


def test_errors_name_each_field(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        bad = api.post(S, json={"query": " ", "identifier": 3, "top_k": -1, "limit": 5})
        assert bad.status_code == 400
        assert _fields(bad) == {"query", "identifier", "top_k", "limit"}
        for top_k in (True, 1.5, "3"):
            one = api.post(S, json={"query": "x", "top_k": top_k})
            assert one.status_code == 400 and _fields(one) == {"top_k"}
        long = api.post(S, json={"query": "x", "identifier": "i" * 256})
        assert long.status_code == 400 and _fields(long) == {"identifier"}
        view = api.post(S, json={"query": "x", "view": "all"})
        assert view.status_code == 400 and _fields(view) == {"view"}
        full = api.post(S, json={"query": "x", "view": "full", "top_k": 2, "identifier": "a"})
        assert full.status_code == 400 and _fields(full) == {"top_k", "identifier"}
        for body in ([], "q", None):
            assert api.post(S, json=body).status_code == 400
