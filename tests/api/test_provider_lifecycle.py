"""Provider management beyond the happy path: conflicts, concurrency, etags, pagination,
deletion while in use, built-ins, and the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.rows import insert_connection
from tests.support.servers import Server, create_client, create_environment


def definition(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "display_name": name,
        "description": "lifecycle",
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "oauth_config": {
                    "authorize_uri": "https://auth.example.com/authorize",
                    "token_uri": "https://auth.example.com/token",
                    "available_scopes": [{"scope": "read", "required": True}, {"scope": "write"}],
                },
            }
        ],
        "proxy_url": "https://api.example.com",
        "proxy_enabled": True,
    }
    data.update(changes)
    return data


def test_identifier_derivation_and_conflicts(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers", json={"provider": definition(f"My Asana {unique}")}
        )
        assert created.status_code == 201  # the {"provider": {...}} wrapping is accepted too
        assert created.json()["provider"]["identifier"] == f"myasana{unique}"
        assert created.headers["etag"] == f'"{created.json()["provider"]["etag"]}"'
        clash = api.post("/api/v1/custom-providers", json=definition(f"my-asana-{unique.upper()}"))
        assert clash.status_code == 409
        body = clash.json()
        assert (
            body["code"] == 6
            and f"myasana{unique}" in body["message"]
            and f"My Asana {unique}" in body["message"]
        )
        builtin = api.post("/api/v1/custom-providers", json=definition("Git-Hub"))
        assert builtin.status_code == 409 and "built-in" in builtin.json()["message"]


def test_builtin_providers_cannot_change(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        assert (
            api.put("/api/v1/custom-providers/github", json=definition("GitHub")).status_code == 403
        )
        response = api.delete("/api/v1/custom-providers/github")
        assert response.status_code == 403 and response.json()["code"] == 7
        github = api.get("/api/v1/providers", params={"identifier": "github"}).json()
        assert github["total_size"] == 1 and github["providers"][0]["is_custom"] is False


def test_concurrent_creates_make_exactly_one(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    token = server.token(dev_client)

    async def race() -> list[int]:
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/api/v1/custom-providers", json=definition(f"Racer {unique}"))
                    for _ in range(20)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(race())
    assert statuses.count(201) == 1 and statuses.count(409) == 19, statuses
    with server.api(dev_client) as api:
        found = api.get("/api/v1/providers", params={"identifier": f"racer{unique}"}).json()
        assert found["total_size"] == 1


def test_stale_etags_are_refused_and_no_write_is_lost(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Contended {unique}"
    ident = f"contended{unique}"
    token = server.token(dev_client)
    with server.api(dev_client) as api:
        etag = api.post("/api/v1/custom-providers", json=definition(name)).json()["provider"][
            "etag"
        ]

    async def stale_writers() -> list[int]:
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            responses = await asyncio.gather(
                *(
                    client.put(
                        f"/api/v1/custom-providers/{ident}",
                        json=definition(name, description=f"writer {i}"),
                        headers={"If-Match": f'"{etag}"'},
                    )
                    for i in range(10)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(stale_writers())
    assert statuses.count(200) == 1 and statuses.count(412) == 9, statuses

    async def careful_writer(client: httpx.AsyncClient, i: int) -> None:
        # read-modify-write with If-Match, retrying on 412: every key must survive
        while True:
            current = (await client.get(f"/api/v1/providers/{ident}")).json()["provider"]
            metadata = dict(current["metadata"], **{f"writer{i:02}": "done"})
            response = await client.put(
                f"/api/v1/custom-providers/{ident}",
                json=definition(name, metadata=metadata),
                headers={"If-Match": current["etag"]},
            )
            if response.status_code == 200:
                return
            assert response.status_code == 412, response.text
            assert response.json()["code"] == 9

    async def careful_writers() -> None:
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            await asyncio.gather(*(careful_writer(client, i) for i in range(8)))

    asyncio.run(careful_writers())
    with server.api(dev_client) as api:
        final = api.get(f"/api/v1/providers/{ident}").json()["provider"]
        assert final["metadata"] == {f"writer{i:02}": "done" for i in range(8)}
        assert (
            api.put(
                f"/api/v1/custom-providers/{ident}",
                json=definition(name),
                headers={"If-Match": "*"},
            ).status_code
            == 200
        )


def test_update_replaces_the_whole_definition(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Replaced {unique}"
    with server.api(dev_client) as api:
        api.post(
            "/api/v1/custom-providers",
            json=definition(name, metadata={"team": "core", "tier": "gold"}),
        )
        replacement = definition(name, metadata={"owner": "me"})
        replacement["auth_patterns"][0]["oauth_config"]["available_scopes"] = [
            {"scope": "read", "required": True}
        ]
        updated = api.put(f"/api/v1/custom-providers/replaced{unique}", json=replacement).json()[
            "provider"
        ]
        assert updated["metadata"] == {"owner": "me"}
        assert [
            s["scope"] for s in updated["auth_patterns"][0]["oauth_config"]["available_scopes"]
        ] == ["read"]


def test_pagination_is_stable_under_inserts(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    # A fresh environment keeps the custom list small and predictable.
    env = f"pages-{unique}"
    create_environment(server.backend, env)
    client = create_client(server.backend, env)
    with server.api(client) as api:
        for i in range(7):
            assert (
                api.post("/api/v1/custom-providers", json=definition(f"Page {i}")).status_code
                == 201
            )
        seen: list[str] = []
        params: dict[str, Any] = {"filter.provider_type": "CUSTOM", "page_size": 3}
        pages = []
        while True:
            body = api.get("/api/v1/providers", params=params).json()
            assert body["total_size"] >= 7
            pages.append(body)
            seen.extend(p["identifier"] for p in body["providers"])
            if len(pages) == 1:  # a concurrent insert must not shift later pages
                api.post("/api/v1/custom-providers", json=definition("Page Late"))
            if not body["next_page_token"]:
                break
            params["page_token"] = body["next_page_token"]
        assert seen[:7] == [f"page{i}" for i in range(7)]
        assert len(seen) == len(set(seen))
        assert pages[0]["prev_page_token"] == ""
        back = api.get(
            "/api/v1/providers",
            params={
                "filter.provider_type": "CUSTOM",
                "page_size": 3,
                "page_token": pages[1]["prev_page_token"],
            },
        ).json()
        assert [p["identifier"] for p in back["providers"]] == seen[:3]
        # ALL lists built-ins first, then custom ones, with one total
        everything = api.get("/api/v1/providers", params={"page_size": 1000}).json()
        default = api.get(
            "/api/v1/providers", params={"filter.provider_type": "0", "page_size": 1000}
        ).json()
        custom = api.get(
            "/api/v1/providers", params={"filter.provider_type": "1", "page_size": 1000}
        ).json()
        assert everything["total_size"] == default["total_size"] + custom["total_size"]
        assert [p["identifier"] for p in everything["providers"]] == [
            p["identifier"] for p in default["providers"] + custom["providers"]
        ]
        assert default["total_size"] >= 25 and not any(p["is_custom"] for p in default["providers"])
        # walking ALL in small pages crosses from built-ins to custom without gaps
        walked, token = [], ""
        while True:
            body = api.get("/api/v1/providers", params={"page_size": 7, "page_token": token}).json()
            walked.extend(p["identifier"] for p in body["providers"])
            token = body["next_page_token"]
            if not token:
                break
        assert walked == [p["identifier"] for p in everything["providers"]]


def test_delete_refused_while_connections_use_it(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"In Use {unique}"
    ident = f"inuse{unique}"
    with server.api(dev_client) as api:
        api.post("/api/v1/custom-providers", json=definition(name))
        insert_connection(server.backend, "dev", f"crm-{unique}", ident, accounts=3)
        insert_connection(server.backend, "dev", f"crm-eu-{unique}", ident, accounts=0)
        response = api.delete(f"/api/v1/custom-providers/{ident}")
        assert response.status_code == 412, response.text
        body = response.json()
        assert body["code"] == 9
        assert f"crm-{unique}" in body["message"] and "3 connected accounts" in body["message"]
        assert f"crm-eu-{unique}" in body["message"] and "0 connected accounts" in body["message"]
        assert "first" in body["message"]
        assert api.get(f"/api/v1/providers/{ident}").status_code == 200


def test_audit_log_records_changes(server: Server, dev_client: dict[str, str], unique: str) -> None:
    name = f"Audited {unique}"
    ident = f"audited{unique}"
    with server.api(dev_client) as api:
        api.post("/api/v1/custom-providers", json=definition(name))
        api.put(f"/api/v1/custom-providers/{ident}", json=definition(name, description="second"))
        api.delete(f"/api/v1/custom-providers/{ident}")
        entries = api.get("/api/v1/audit-logs", params={"resource_id": ident}).json()
        actions = [e["action"] for e in entries["audit_logs"]]
        assert actions == ["provider.delete", "provider.update", "provider.create"]
        delete, update, create = entries["audit_logs"]
        assert create["before"] is None and create["after"]["display_name"] == name
        assert (
            update["before"]["description"] == "lifecycle"
            and update["after"]["description"] == "second"
        )
        assert delete["after"] is None and delete["before"]["description"] == "second"
        assert all(
            e["actor"]["client_id"] == dev_client["client_id"] for e in entries["audit_logs"]
        )
        page = api.get("/api/v1/audit-logs", params={"resource_id": ident, "page_size": 2}).json()
        rest = api.get(
            "/api/v1/audit-logs",
            params={"resource_id": ident, "page_size": 2, "page_token": page["next_page_token"]},
        ).json()
        assert [e["action"] for e in page["audit_logs"] + rest["audit_logs"]] == actions
