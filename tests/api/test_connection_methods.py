"""ConnectionService's environment methods in Scalekit's message shapes: ListConnections
(`GET /api/v1/connections`, ListConnection items), ListAppConnections, the toggles
(ToggleConnectionResponse), get, update and delete."""

from __future__ import annotations

from tests.support.resources import (
    api_key_provider,
    create_connection,
    create_provider,
    error_of,
)
from tests.support.servers import Server, create_client, create_environment

# scalekit.v1.connections.ListConnection, less `provider` (an SSO identity-provider enum)
LIST_CONNECTION = {
    "id",
    "type",
    "status",
    "enabled",
    "organization_id",
    "ui_button_title",
    "domains",
    "organization_name",
    "provider_key",
    "key_id",
    "created_at",
    "mcp_server_url",
    "auth_mode",
}


def test_list_connections_in_the_message_shape(server: Server, unique: str) -> None:
    env = f"lc-{unique}"
    create_environment(server.backend, env)
    with server.api(create_client(server.backend, env)) as api:
        assert api.get("/api/v1/connections").json() == {"connections": []}
        key = create_provider(api, api_key_provider(f"Listed {unique}"))
        made = [
            create_connection(api, {"provider_key": key, "key_id": name}) for name in ("b", "a")
        ]
        assert api.patch(f"/api/v1/connections/{made[0]['id']}:disable").json() == {
            "enabled": False,
            "error_message": "",
        }
        body = api.get("/api/v1/connections", params={"include": "all"}).json()
        assert set(body) == {"connections"}
        items = body["connections"]
        assert [c["key_id"] for c in items] == ["a", "b"]
        for item in items:
            assert set(item) == LIST_CONNECTION
            assert item["organization_id"] == "" and item["domains"] == []
            assert item["provider_key"] == key and item["type"] == "API_KEY"
            assert item["status"] == "COMPLETED" and item["created_at"]
        assert [c["enabled"] for c in items] == [True, False]
        # no organizations or domains in authrelay: asking for one finds none
        for params in ({"organization_id": "org_1"}, {"domain": "example.com"}):
            assert api.get("/api/v1/connections", params=params).json() == {"connections": []}

        app = api.get("/api/v1/connections/app").json()
        assert {"connections", "next_page_token", "total_size"} <= set(app)
        first = app["connections"][0]
        assert first["created_at"] == first["create_time"]

        enabled = api.patch(f"/api/v1/connections/{made[0]['id']}:enable")
        assert enabled.json() == {"enabled": True, "error_message": ""}
        got = api.get(f"/api/v1/connections/{made[0]['id']}").json()
        assert set(got) == {"connection"} and got["connection"]["enabled"] is True
        assert api.delete(f"/api/v1/connections/{made[1]['id']}").json() == {}
        error_of(api.get(f"/api/v1/connections/{made[1]['id']}"), 404, 5)
        error_of(api.patch("/api/v1/connections/conn_nosuch:enable"), 404, 5)
