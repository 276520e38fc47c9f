"""The tool management and listing routes against a real server (SPEC §9)."""

from __future__ import annotations

from tests.support.servers import Server
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream


def _violations(response: object) -> set[str]:
    body = response.json()  # type: ignore[attr-defined]
    return {v["field"] for v in body["details"][0]["field_violations"]}


def test_create_names_every_bad_field(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "erin")
        bad = tool_body(provider, "bad name!", path="/x/{missing}/{owner}", method="FETCH")
        bad["definition"]["input_schema"]["properties"]["limit"] = {"type": "integr"}
        bad["binding"]["params"]["nope"] = {"in": "query"}
        bad["binding"]["response"] = {"max_bytes": 0}
        bad["extra"] = 1
        response = api.post("/api/v1/tools", json=bad)
        assert response.status_code == 400
        fields = _violations(response)
        assert {
            "definition.name",
            "binding.method",
            "binding.response.max_bytes",
            "extra",
            "binding.path",
            "binding.params.nope",
            "definition.input_schema.properties.limit.type",
        } <= fields, fields
        unknown_provider = api.post(
            "/api/v1/tools", json=tool_body("nosuch" + unique, "t_" + unique)
        )
        assert unknown_provider.status_code == 400 and _violations(unknown_provider) == {"provider"}
        assert api.post("/api/v1/tools", json=[1]).status_code == 400
        # nothing was stored by the failed calls
        listed = api.get("/api/v1/tools", params={"filter.provider": provider}).json()
        assert listed["tools"] == [] and listed["total_size"] == 0


def test_crud_list_search_and_audit(
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        provider, conn, account = setup_provider(api, upstream, unique, "fay")
        names = [f"{provider}_{word}" for word in ("list_issues", "create_issue", "get_user")]
        ids = []
        for name, text in zip(
            names,
            ("List the issues of a repository", "Open a new issue", "Read one user"),
            strict=True,
        ):
            created = api.post("/api/v1/tools", json=tool_body(provider, name, description=text))
            assert created.status_code == 201, created.text
            ids.append(created.json()["tool"]["id"])
        dup = api.post("/api/v1/tools", json=tool_body(provider, names[0]))
        assert dup.status_code == 409

        page1 = api.get(
            "/api/v1/tools", params={"filter.provider": provider.upper(), "page_size": 2}
        ).json()
        assert page1["total_size"] == 3 and len(page1["tools"]) == 2 and page1["next_page_token"]
        assert "binding" not in page1["tools"][0]
        page2 = api.get(
            "/api/v1/tools",
            params={
                "filter.provider": provider,
                "page_size": 2,
                "page_token": page1["next_page_token"],
            },
        ).json()
        assert [t["definition"]["name"] for t in page1["tools"] + page2["tools"]] == names
        assert page2["next_page_token"] == ""
        summary = api.get(
            "/api/v1/tools", params={"filter.provider": provider, "filter.summary": "true"}
        ).json()
        assert summary["tool_names"] == names and "tools" not in summary
        by_name = api.get(
            "/api/v1/tools", params=[("filter.tool_name", names[0]), ("filter.tool_name", names[2])]
        ).json()
        assert {t["definition"]["name"] for t in by_name["tools"]} == {names[0], names[2]}
        query = api.get(
            "/api/v1/tools", params={"filter.query": "new issue", "filter.provider": provider}
        ).json()
        assert [t["definition"]["name"] for t in query["tools"]] == [names[1]]
        mine = api.get(
            "/api/v1/tools", params={"filter.identifier": "fay", "page_size": 1000}
        ).json()
        assert {t["definition"]["name"] for t in mine["tools"]} >= set(names)
        nobody = api.get("/api/v1/tools", params={"filter.identifier": "nobody-" + unique}).json()
        assert nobody["tools"] == [] and nobody["total_size"] == 0
        assert api.get("/api/v1/tools", params={"page_token": "!!"}).status_code == 400

        search = api.post(
            "/api/v1/tools:search",
            json={"query": "issues", "providers": [provider], "view": "full"},
        )
        ranked = [r["tool"]["definition"]["name"] for r in search.json()["results"]]
        assert ranked[0] == names[0] and set(ranked) == {names[0], names[1]}
        bad_search = api.post("/api/v1/tools:search", json={"limit": 0, "x": 1, "view": "full"})
        assert _violations(bad_search) == {"x", "query", "limit"}

        scoped = api.get(
            "/api/v1/tools/scoped", params={"identifier": "fay", "page_size": 1000}
        ).json()
        entries = [e for e in scoped["tools"] if e["tool"]["provider"] == provider.upper()]
        assert len(entries) == 3 and all(
            e["connected_account_id"] == account["id"] for e in entries
        )
        assert api.get("/api/v1/tools/scoped").status_code == 400
        available = api.get(
            "/api/v1/tools/available", params={"identifier": "someone", "page_size": 1000}
        ).json()
        assert set(names) <= {t["definition"]["name"] for t in available["tools"]}

        got = api.get(f"/api/v1/tools/{names[2]}").json()["tool"]
        assert got["id"] == ids[2] and got["binding"]["path"] == "/owners/{owner}/items"
        replaced_body = tool_body(provider, names[2] + "_v2", method="GET")
        replaced = api.put(f"/api/v1/tools/{ids[2]}", json=replaced_body)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["tool"]["binding"]["method"] == "GET"
        assert api.get(f"/api/v1/tools/{names[2]}").status_code == 404
        assert api.delete(f"/api/v1/tools/{names[2]}_v2").status_code == 200
        assert api.delete(f"/api/v1/tools/{names[2]}_v2").status_code == 404

        audit = api.get("/api/v1/audit-logs", params={"page_size": 200}).json()
        entries = [
            (e.get("action"), e.get("resource_id"))
            for e in audit.get("audit_logs", audit.get("entries", []))
        ]
        assert ("tool.create", names[0]) in entries and ("tool.delete", names[2] + "_v2") in entries
        assert ("tool.update", names[2] + "_v2") in entries
        _ = conn
    with server.api(prod_client) as prod:
        other = prod.get("/api/v1/tools", params={"filter.tool_name": names[0]}).json()
        assert other["tools"] == []  # tools belong to one environment


def test_sync_plans_and_prunes(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "gil")
        hand = api.post("/api/v1/tools", json=tool_body(provider, f"hand_{unique}"))
        assert hand.status_code == 201
        tools = [tool_body(provider, f"gen_{unique}_{i}") for i in range(3)]
        for t in tools:
            del t["provider"]
        plan = api.post(
            "/api/v1/tools:sync",
            json={
                "provider": provider,
                "tools": tools,
                "source": "openapi",
                "prune": "source",
                "dry_run": True,
            },
        ).json()
        assert len(plan["created"]) == 3 and plan["dry_run"] is True
        assert (
            api.get("/api/v1/tools", params={"filter.provider": provider}).json()["total_size"] == 1
        )
        done = api.post(
            "/api/v1/tools:sync",
            json={"provider": provider, "tools": tools, "source": "openapi", "prune": "source"},
        ).json()
        assert len(done["created"]) == 3
        tools[0]["definition"]["description"] = "changed"
        again = api.post(
            "/api/v1/tools:sync",
            json={"provider": provider, "tools": tools[:2], "source": "openapi", "prune": "source"},
        ).json()
        assert again["updated"] == [{"name": f"gen_{unique}_0", "fields": ["definition"]}]
        assert again["deleted"] == [f"gen_{unique}_2"] and again["unchanged"] == [f"gen_{unique}_1"]
        names = api.get(
            "/api/v1/tools", params={"filter.provider": provider, "filter.summary": "true"}
        ).json()["tool_names"]
        assert sorted(names) == sorted([f"hand_{unique}", f"gen_{unique}_0", f"gen_{unique}_1"])
        broken = [dict(tools[0]), {"definition": {}}]
        bad = api.post(
            "/api/v1/tools:sync", json={"provider": provider, "tools": broken, "prune": "x"}
        )
        assert bad.status_code == 400
        assert "prune" in _violations(bad)
        bad2 = api.post("/api/v1/tools:sync", json={"provider": provider, "tools": broken})
        fields = _violations(bad2)
        assert "tools[1].definition.name" in fields and "tools[1].binding" in fields


def test_deleting_a_provider_deletes_its_tools(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    from tests.support.upstream import provider_definition

    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers", json=provider_definition(f"Gone {unique}", upstream)
        )
        assert created.status_code == 201, created.text
        ident = created.json()["provider"]["identifier"]
        assert api.post("/api/v1/tools", json=tool_body(ident, f"gone_{unique}")).status_code == 201
        assert api.delete(f"/api/v1/custom-providers/{ident}").status_code == 200
        assert api.get(f"/api/v1/tools/gone_{unique}").status_code == 404
        again = api.post(
            "/api/v1/custom-providers", json=provider_definition(f"Gone {unique}", upstream)
        )
        assert again.status_code == 201
        listed = api.get("/api/v1/tools", params={"filter.provider": ident}).json()
        assert listed["tools"] == []
