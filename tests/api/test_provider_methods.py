"""ProviderService's methods on Scalekit's other paths: CreateProvider, UpdateProvider,
DeleteProvider (`/api/v1/providers…`, custom providers; built-ins refused) and
ListMyProviders (`/api/v1/my-providers`: the providers with a connection here)."""

from __future__ import annotations

from tests.support.resources import (
    api_key_provider,
    create_connection,
    create_provider,
    error_of,
    violations,
)
from tests.support.rows import insert_connection
from tests.support.servers import Server, create_client, create_environment


def test_create_update_delete_under_providers(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Generic {unique}"
    with server.api(dev_client) as api:
        body = {
            **api_key_provider(name),
            "identifier": f"generic{unique}",
            "categories": [],
            "display_priority": 0,
            "coming_soon": False,
        }
        created = api.post("/api/v1/providers", json={"provider": body})
        assert created.status_code == 201, created.text
        provider = created.json()["provider"]
        assert provider["identifier"] == f"generic{unique}" and provider["is_custom"] is True
        path = f"/api/v1/providers/{provider['identifier']}"
        # UpdateProvider leaves proxy_enabled out (a BoolValue not set): it is kept.
        updated = api.put(
            path,
            json={
                "display_name": name,
                "proxy_url": "https://api.example.com/v2",
                "categories": [],
            },
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["provider"]["proxy_enabled"] is True
        assert updated.json()["provider"]["proxy_url"] == "https://api.example.com/v2"
        assert api.delete(path).json() == {}
        error_of(api.get(path), 404, 5)


def test_catalog_fields_and_definition_errors_are_named_together(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Catalog {unique}"
    with server.api(dev_client) as api:
        body = {
            **api_key_provider(name),
            "identifier": "other",
            "categories": ["crm"],
            "display_priority": 3,
            "coming_soon": True,
            "proxy_url": "http://plain.example.com",
        }
        found = violations(api.post("/api/v1/providers", json=body))
        assert set(found) == {
            "identifier",
            "categories",
            "display_priority",
            "coming_soon",
            "proxy_url",
        }
        assert f"catalog{unique}" in found["identifier"]
        listed = api.get("/api/v1/providers", params={"identifier": f"catalog{unique}"}).json()
        assert listed["providers"] == []
        ident = create_provider(api, api_key_provider(name))
        before = api.get(f"/api/v1/providers/{ident}").json()
        found = violations(
            api.put(
                f"/api/v1/providers/{ident}",
                json={"display_name": name, "proxy_url": "https://a.example", "coming_soon": True},
            )
        )
        assert set(found) == {"coming_soon"}
        assert api.get(f"/api/v1/providers/{ident}").json() == before


def test_builtin_providers_are_refused(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        github = {"display_name": "GitHub", "proxy_url": "https://api.github.com"}
        error_of(api.put("/api/v1/providers/github", json=github), 403, 7)
        error_of(api.delete("/api/v1/providers/github"), 403, 7)
        error_of(api.delete("/api/v1/providers/nosuchprovider"), 404, 5)
        assert api.get("/api/v1/providers/github").status_code == 200


def test_my_providers_are_those_with_a_connection(server: Server, unique: str) -> None:
    env = f"mine-{unique}"
    create_environment(server.backend, env)
    client = create_client(server.backend, env)
    with server.api(client) as api:
        empty = api.get("/api/v1/my-providers").json()
        assert empty == {
            "providers": [],
            "next_page_token": "",
            "prev_page_token": "",
            "total_size": 0,
        }
        idents = [create_provider(api, api_key_provider(f"Mine {i} {unique}")) for i in range(3)]
        create_provider(api, api_key_provider(f"Unused {unique}"))
        for ident in idents:
            create_connection(api, {"provider_key": ident, "type": "API_KEY", "key_id": ident})
        # A second connection of the same provider lists it once.
        create_connection(api, {"provider_key": idents[0], "type": "API_KEY", "key_id": "again"})
        insert_connection(server.backend, env, "gh", "github", 0)
        expected = sorted([*idents, "github"])
        first = api.get("/api/v1/my-providers", params={"page_size": 3}).json()
        assert [p["identifier"] for p in first["providers"]] == expected[:3]
        assert first["total_size"] == 4 and first["prev_page_token"] == ""
        github = next(p for p in first["providers"] if p["identifier"] == "github")
        assert github["is_custom"] is False
        second = api.get(
            "/api/v1/my-providers", params={"page_size": 3, "page_token": first["next_page_token"]}
        ).json()
        assert [p["identifier"] for p in second["providers"]] == expected[3:]
        assert second["next_page_token"] == ""
        back = api.get(
            "/api/v1/my-providers", params={"page_size": 3, "page_token": second["prev_page_token"]}
        ).json()
        assert back["providers"] == first["providers"]
        assert "page_token" in violations(
            api.get("/api/v1/my-providers", params={"page_token": "!!"})
        )
        assert "page_size" in violations(
            api.get("/api/v1/my-providers", params={"page_size": "-1"})
        )
