"""`PUT /api/v1/custom-providers/{identifier}` (UpdateCustomProvider): a field whose key the
body leaves out keeps its stored value, as Scalekit's SDK expects (it cannot send
`proxy_enabled`); a full body still replaces the definition."""

from __future__ import annotations

from typing import Any

from authrelay_client import Client
from tests.api.test_provider_lifecycle import definition
from tests.support.servers import Server


def _sdk_shaped(name: str, **more: Any) -> dict[str, Any]:
    """What UpdateCustomProvider carries when the SDK sets only its required fields: the
    gateway leaves proto3 defaults (`proxy_enabled: false`, empty maps) out of the JSON."""
    return {"display_name": name, "proxy_url": "https://api2.example.com", **more}


def test_sdk_shaped_body_keeps_what_it_leaves_out(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Partial {unique}"
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers",
            json=definition(name, metadata={"team": "core"}, icon_src="https://icons.example/a"),
        ).json()["provider"]
        assert created["proxy_enabled"] is True
        response = api.put(
            f"/api/v1/custom-providers/{created['identifier']}",
            json={"provider": _sdk_shaped(name, description="changed")},
        )
        assert response.status_code == 200, response.text
        updated = response.json()["provider"]
        assert updated["proxy_enabled"] is True
        assert updated["metadata"] == {"team": "core"}
        assert updated["icon_src"] == "https://icons.example/a"
        assert updated["auth_patterns"] == created["auth_patterns"]
        assert updated["description"] == "changed"
        assert updated["proxy_url"] == "https://api2.example.com"
        assert api.get(f"/api/v1/providers/{created['identifier']}").json()["provider"] == updated


def test_full_body_put_still_replaces(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Whole {unique}"
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers", json=definition(name, metadata={"team": "core"})
        ).json()["provider"]
        whole = definition(name, proxy_enabled=False, metadata={}, description="")
        updated = api.put(f"/api/v1/custom-providers/{created['identifier']}", json=whole).json()[
            "provider"
        ]
        assert (updated["proxy_enabled"], updated["metadata"], updated["description"]) == (
            False,
            {},
            "",
        )


def test_null_clears_an_optional_field(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Cleared {unique}"
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers",
            json=definition(name, icon_src="https://icons.example/a", retry={"max_attempts": 2}),
        ).json()["provider"]
        assert "retry" in created
        updated = api.put(
            f"/api/v1/custom-providers/{created['identifier']}",
            json=_sdk_shaped(name, icon_src=None, retry=None),
        ).json()["provider"]
        assert updated["icon_src"] == "" and "retry" not in updated
        assert updated["proxy_enabled"] is True


def test_required_fields_and_merged_result_are_validated(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    name = f"Checked {unique}"
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition(name)).json()["provider"]
        path = f"/api/v1/custom-providers/{created['identifier']}"
        missing = api.put(path, json={"description": "only this"})
        assert missing.status_code == 400
        named = {v["field"] for v in missing.json()["details"][0]["field_violations"]}
        assert named == {"display_name", "proxy_url"}
        # The kept OAuth pattern and a new field of the body are checked together.
        bad = api.put(path, json=_sdk_shaped(name, proxy_enabled="yes", bogus=1))
        assert bad.status_code == 400
        named = {v["field"] for v in bad.json()["details"][0]["field_violations"]}
        assert named == {"proxy_enabled", "bogus"}
        assert api.get(f"/api/v1/providers/{created['identifier']}").json()["provider"] == created


def test_sdk_update_replaces_the_whole_definition(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    """authrelay's own SDK (and so the CLI) replaces: a field its definition drops is gone."""
    name = f"Sdk {unique}"
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/custom-providers", json=definition(name, metadata={"team": "core"})
        ).json()["provider"]
    with Client(server.url, dev_client["client_id"], dev_client["client_secret"]) as sdk:
        replaced = sdk.providers.update(created["identifier"], definition(name))
    assert replaced.metadata == {}
    assert replaced.proxy_enabled is True
