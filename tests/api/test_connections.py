"""Connections (SPEC §5) over HTTP: Scalekit's app-connection routes, static and OAuth
connections, validation, partial updates, enable/disable, listing, deletion, and the
guarantee that an OAuth client secret is never shown again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.resources import (
    APP,
    api_key_provider,
    audit_text,
    basic_provider,
    bearer_provider,
    create_account,
    create_connection,
    create_provider,
    error_of,
    oauth_provider,
    static,
    violations,
)
from tests.support.servers import Server, create_client, create_environment

CONNECTION_KEYS = {
    "id", "type", "status", "enabled", "provider_key", "key_id", "auth_mode", "create_time",
    "update_time", "oauth_config", "static_config", "resolved_proxy_url",
}  # fmt: skip


def test_static_connections_of_custom_providers(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        key = create_provider(api, api_key_provider(f"Conn Key {unique}"))
        basic = create_provider(api, basic_provider(f"Conn Basic {unique}"))
        bearer = create_provider(api, bearer_provider(f"Conn Bearer {unique}"))

        # only provider_key: key_id defaults to the identifier, type to the pattern's
        made = create_connection(api, {"provider_key": key})
        assert set(made) == CONNECTION_KEYS
        assert made["id"].startswith("conn_")
        assert made["key_id"] == key and made["provider_key"] == key
        assert made["type"] == "API_KEY" and made["status"] == "COMPLETED"
        assert made["enabled"] is True and made["auth_mode"] == "USER"
        assert made["oauth_config"] is None and made["static_config"] == {}
        assert made["resolved_proxy_url"] == "https://api.example.com/v1"
        assert made["create_time"].endswith("Z") and made["update_time"].endswith("Z")

        # type as a number, as a name, in any case; explicit key_id
        by_number = create_connection(
            api, {"provider_key": basic, "type": 6, "key_id": f"basic-{unique}"}
        )
        assert by_number["type"] == "BASIC" and by_number["key_id"] == f"basic-{unique}"
        by_name = create_connection(
            api, {"provider_key": bearer, "type": "bearer", "key_id": f"bearer.{unique}_x"}
        )
        assert by_name["type"] == "BEARER"
        assert by_name["resolved_proxy_url"] == "https://api.example.com/{{tenant}}/v2"
        by_string_number = create_connection(
            api, {"provider_key": key, "type": "8", "key_id": f"key2-{unique}"}
        )
        assert by_string_number["type"] == "API_KEY"

        # GET by id and by connection name give the same object
        for ref in (made["id"], made["key_id"]):
            got = api.get(f"/api/v1/connections/{ref}")
            assert got.status_code == 200, got.text
            assert got.json() == {"connection": made}


@pytest.mark.parametrize(
    ("wrong", "only_type"),
    [
        pytest.param("OAUTH", True, id="oauth-not-a-pattern"),
        pytest.param(4, True, id="oauth-by-number"),
        pytest.param("BASIC", True, id="basic-not-a-pattern"),
        pytest.param("SAML", False, id="saml"),
        pytest.param(2, False, id="saml-by-number"),
        pytest.param("OAUTH_M2M", False, id="oauth-m2m"),
        pytest.param(99, False, id="unknown-number"),
        pytest.param("nonsense", False, id="unknown-name"),
        pytest.param(True, False, id="boolean"),
        pytest.param(1.5, False, id="fraction"),
    ],
)
def test_a_connection_type_must_be_one_of_the_providers_patterns(
    server: Server, dev_client: dict[str, str], unique: str, wrong: object, only_type: bool
) -> None:
    """A type the provider has no pattern for is refused naming its patterns; a type no
    connection can have is refused (with, perhaps, other violations)."""
    with server.api(dev_client) as api:
        key = create_provider(api, api_key_provider(f"Conn Wrong {unique}"))
        response = api.post(
            "/api/v1/connections",
            params=APP,
            json={"provider_key": key, "type": wrong, "key_id": f"wrong-{unique}"},
        )
        if only_type:
            assert set(violations(response)) == {"type"}
            assert "API_KEY" in response.json()["message"]
        else:
            assert "type" in violations(response)
        assert api.get(f"/api/v1/connections/wrong-{unique}").status_code == 404


def test_builtin_static_connections(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        openai = create_connection(api, {"provider_key": "openai", "key_id": f"openai-{unique}"})
        assert openai["type"] == "API_KEY" and openai["provider_key"] == "openai"
        assert openai["resolved_proxy_url"] == "https://api.openai.com/v1"
        assert openai["status"] == "COMPLETED" and openai["oauth_config"] is None

        freshdesk = create_connection(
            api, {"provider_key": "freshdesk", "type": "BASIC", "key_id": f"fd-{unique}"}
        )
        assert freshdesk["type"] == "BASIC"
        assert freshdesk["resolved_proxy_url"] == "https://{{domain}}.freshdesk.com/api/v2"

        response = api.post(
            "/api/v1/connections",
            params=APP,
            json={"provider_key": "openai", "type": "BEARER", "key_id": f"openai2-{unique}"},
        )
        assert set(violations(response)) == {"type"}


def test_connection_name_defaults_to_the_identifier_in_a_fresh_environment(
    server: Server, unique: str
) -> None:
    env = f"conns-{unique}"
    create_environment(server.backend, env)
    with server.api(create_client(server.backend, env)) as api:
        github = create_connection(api, {"provider_key": "github"})
        assert github["key_id"] == "github" and github["type"] == "OAUTH"
        assert github["status"] == "DRAFT"
        again = api.post("/api/v1/connections", params=APP, json={"provider_key": "github"})
        body = error_of(again, 409, 6)
        assert "github" in body["message"] and github["id"] in body["message"]
        assert body["details"][0]["field_violations"][0]["field"] == "key_id"
        # a second connection of the same provider needs its own name
        other = create_connection(api, {"provider_key": "github", "key_id": "github-eu"})
        assert other["provider_key"] == "github" and other["id"] != github["id"]


def test_oauth_connection_of_a_custom_provider(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    secret = f"oauth-client-secret-{unique}-QX"
    with server.api(dev_client) as api:
        ident = create_provider(api, oauth_provider(f"Conn OAuth {unique}"))

        draft = create_connection(api, {"provider_key": ident, "key_id": f"draft-{unique}"})
        assert draft["type"] == "OAUTH" and draft["status"] == "DRAFT"
        assert draft["static_config"] is None
        config = draft["oauth_config"]
        assert config["client_id"] == "" and config["scopes"] == ["read", "admin"]
        assert config["redirect_uri"].endswith("/oauth/callback")
        assert config["redirect_uri"].startswith("http")
        assert config["authorize_uri"] == "https://auth.example.com/authorize"
        assert config["token_uri"] == "https://auth.example.com/token"
        assert config["use_platform_creds"] is False
        assert "client_secret" not in config

        only_id = create_connection(
            api,
            {"provider_key": ident, "key_id": f"half-{unique}",
             "oauth_config": {"client_id": "cid"}},
        )  # fmt: skip
        assert only_id["status"] == "DRAFT"

        response = api.post(
            "/api/v1/connections",
            params=APP,
            json={
                "provider_key": ident,
                "type": "OAUTH",
                "key_id": f"full-{unique}",
                "oauth_config": {
                    "client_id": "my-client-id",
                    "client_secret": secret,
                    "scopes": ["write", "read", "write", "delete"],
                },
            },
        )
        assert response.status_code == 201, response.text
        assert secret not in response.text and '"client_secret"' not in response.text
        full = response.json()["connection"]
        assert full["status"] == "COMPLETED" and full["type"] == "OAUTH"
        # required scopes first, then the chosen ones, without duplicates
        assert full["oauth_config"]["scopes"] == ["read", "admin", "write", "delete"]
        assert full["oauth_config"]["client_id"] == "my-client-id"
        assert full["oauth_config"]["redirect_uri"] == config["redirect_uri"]
        assert full["oauth_config"]["required_scopes"] == ["read", "admin"]

        for path, params in (
            (f"/api/v1/connections/{full['id']}", None),
            (f"/api/v1/connections/full-{unique}", None),
            ("/api/v1/connections/app", {"provider": ident}),
            ("/api/v1/connections/app", {"query": unique}),
        ):
            read = api.get(path, params=params)
            assert read.status_code == 200, read.text
            assert secret not in read.text and 'client_secret"' not in read.text
        listed = api.get("/api/v1/connections/app", params={"provider": ident}).json()
        assert {c["key_id"] for c in listed["connections"]} == {
            f"draft-{unique}",
            f"half-{unique}",
            f"full-{unique}",
        }
        assert secret not in audit_text(api)
        entries = api.get(
            "/api/v1/audit-logs",
            params={"resource_type": "connection", "resource_id": f"full-{unique}"},
        ).json()["audit_logs"]
        assert [e["action"] for e in entries] == ["connection.create"]
        assert entries[0]["after"]["client_secret_set"] is True
        assert entries[0]["actor"]["client_id"] == dev_client["client_id"]


def test_oauth_connection_of_builtin_github(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    secret = f"gh-secret-{unique}"
    with server.api(dev_client) as api:
        made = create_connection(
            api,
            {
                "provider_key": "github",
                "type": 4,
                "key_id": f"gh-{unique}",
                "oauth_config": {
                    "client_id": "Iv1.abc",
                    "client_secret": secret,
                    "scopes": ["repo", "read:user"],
                },
            },
        )
        config = made["oauth_config"]
        assert made["status"] == "COMPLETED"
        assert config["scopes"] == ["read:user", "repo"]
        assert config["authorize_uri"] == "https://github.com/login/oauth/authorize"
        assert config["token_uri"] == "https://github.com/login/oauth/access_token"
        assert config["pkce_enabled"] is True
        assert made["resolved_proxy_url"] == "https://api.github.com"
        assert secret not in api.get(f"/api/v1/connections/gh-{unique}").text


BAD_CREATE: list[tuple[str, dict[str, Any], set[str]]] = [
    ("missing provider", {"key_id": "x-{u}"}, {"provider_key"}),
    ("unknown provider", {"provider_key": "nosuch{u}"}, {"provider_key"}),
    ("empty provider", {"provider_key": ""}, {"provider_key"}),
    ("unknown field", {"provider_key": "{oauth}", "colour": "red"}, {"colour"}),
    ("id is read-only", {"provider_key": "{oauth}", "id": "conn_x"}, {"id"}),
    ("status is read-only", {"provider_key": "{oauth}", "status": "COMPLETED"}, {"status"}),
    (
        "redirect_uri is read-only",
        {"provider_key": "{oauth}", "oauth_config": {"redirect_uri": "https://evil.example"}},
        {"oauth_config.redirect_uri"},
    ),
    (
        "several read-only fields at once",
        {
            "provider_key": "{oauth}",
            "create_time": "2024-01-01T00:00:00Z",
            "resolved_proxy_url": "https://x.example",
            "oauth_config": {"token_uri": "https://x.example/t"},
        },
        {"create_time", "resolved_proxy_url", "oauth_config.token_uri"},
    ),
    (
        "read-only and unknown fields together",
        {"provider_key": "{oauth}", "update_time": "x", "oauth_config": {"secret": "s"}},
        {"update_time", "oauth_config.secret"},
    ),
    (
        "platform credentials",
        {"provider_key": "{oauth}", "oauth_config": {"use_platform_creds": True}},
        {"oauth_config.use_platform_creds"},
    ),
    (
        "oauth_config on a static connection",
        {"provider_key": "{key}", "oauth_config": {"client_id": "c"}},
        {"oauth_config"},
    ),
    (
        "static_config on an OAuth connection",
        {"provider_key": "{oauth}", "static_config": {"a": "b"}},
        {"static_config"},
    ),
    ("key_id with a space", {"provider_key": "{key}", "key_id": "a b"}, {"key_id"}),
    ("key_id with a slash", {"provider_key": "{key}", "key_id": "a/b"}, {"key_id"}),
    ("key_id with a colon", {"provider_key": "{key}", "key_id": "a:b"}, {"key_id"}),
    ("key_id with CR/LF", {"provider_key": "{key}", "key_id": "a\r\nb"}, {"key_id"}),
    ("key_id starting with a dash", {"provider_key": "{key}", "key_id": "-ab"}, {"key_id"}),
    ("empty key_id", {"provider_key": "{key}", "key_id": ""}, {"key_id"}),
    ("key_id too long", {"provider_key": "{key}", "key_id": "k" * 101}, {"key_id"}),
    ("key_id not a string", {"provider_key": "{key}", "key_id": 7}, {"key_id"}),
    ("key_id shaped like an id", {"provider_key": "{key}", "key_id": "conn_123"}, {"key_id"}),
    ("enabled not a boolean", {"provider_key": "{key}", "enabled": "yes"}, {"enabled"}),
    ("bad auth_mode", {"provider_key": "{key}", "auth_mode": "EVERYONE"}, {"auth_mode"}),
    (
        "scopes not a list",
        {"provider_key": "{oauth}", "oauth_config": {"scopes": "read write"}},
        {"oauth_config.scopes"},
    ),
    (
        "scope with a space",
        {"provider_key": "{oauth}", "oauth_config": {"scopes": ["read write"]}},
        {"oauth_config.scopes[0]"},
    ),
    (
        "empty client secret",
        {"provider_key": "{oauth}", "oauth_config": {"client_secret": ""}},
        {"oauth_config.client_secret"},
    ),
    (
        "client id with a newline",
        {"provider_key": "{oauth}", "oauth_config": {"client_id": "a\nb"}},
        {"oauth_config.client_id"},
    ),
    (
        "unknown token method",
        {"provider_key": "{oauth}", "oauth_config": {"token_endpoint_auth_method": "jwt"}},
        {"oauth_config.token_endpoint_auth_method"},
    ),
    ("oauth_config not an object", {"provider_key": "{oauth}", "oauth_config": []},
     {"oauth_config"}),
]  # fmt: skip


@pytest.fixture
def two_providers(server: Server, dev_client: dict[str, str], unique: str) -> dict[str, str]:
    with server.api(dev_client) as api:
        return {
            "u": unique,
            "key": create_provider(api, api_key_provider(f"Bad Key {unique}")),
            "oauth": create_provider(api, oauth_provider(f"Bad OAuth {unique}")),
        }


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names) if "{" in value and "}" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize(("case", "body", "fields"), BAD_CREATE, ids=[c[0] for c in BAD_CREATE])
def test_invalid_connection_bodies_name_every_bad_field(
    server: Server,
    dev_client: dict[str, str],
    two_providers: dict[str, str],
    case: str,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    with server.api(dev_client) as api:
        payload = _fill(body, two_providers)
        before = api.get("/api/v1/connections/app", params={"query": two_providers["u"]}).json()
        response = api.post("/api/v1/connections", params=APP, json=payload)
        assert set(violations(response)) == fields, case
        after = api.get("/api/v1/connections/app", params={"query": two_providers["u"]}).json()
        assert after["total_size"] == before["total_size"], "nothing is stored"


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'"x"', b"42", b"null", b"{", b'{"provider_key": "a", "provider_key": "b"}',
     b'{"key_id": NaN}', b"\xff\xfe", b""],
)  # fmt: skip
def test_malformed_connection_bodies_are_400(
    server: Server, dev_client: dict[str, str], raw: bytes
) -> None:
    with server.api(dev_client) as api:
        response = api.post(
            "/api/v1/connections",
            params=APP,
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert set(violations(response)) == {"body"}
        response = api.patch(
            "/api/v1/connections/anything",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in {400, 404}, response.text


def test_duplicate_connection_name_is_409(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        key = create_provider(api, api_key_provider(f"Dup Key {unique}"))
        first = create_connection(api, {"provider_key": key, "key_id": f"dup-{unique}"})
        # the same name for another provider is taken all the same
        clash = api.post(
            "/api/v1/connections",
            params=APP,
            json={"provider_key": "openai", "key_id": f"dup-{unique}"},
        )
        body = error_of(clash, 409, 6)
        assert f"dup-{unique}" in body["message"] and first["id"] in body["message"]
        assert body["details"][0]["field_violations"][0]["field"] == "key_id"
        listed = api.get("/api/v1/connections/app", params={"query": f"dup-{unique}"}).json()
        assert listed["total_size"] == 1


def test_partial_updates_keep_the_secret_hidden(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    first_secret = f"first-secret-{unique}-A1"
    second_secret = f"second-secret-{unique}-B2"
    with server.api(dev_client) as api:
        ident = create_provider(api, oauth_provider(f"Patch OAuth {unique}"))
        made = create_connection(
            api,
            {
                "provider_key": ident,
                "key_id": f"patch-{unique}",
                "oauth_config": {"client_id": "cid-1", "client_secret": first_secret},
            },
        )
        assert made["status"] == "COMPLETED"

        # rename: the id stays, the old name is gone
        renamed = api.patch(f"/api/v1/connections/patch-{unique}", json={"key_id": f"p2-{unique}"})
        assert renamed.status_code == 200, renamed.text
        conn = renamed.json()["connection"]
        assert conn["id"] == made["id"] and conn["key_id"] == f"p2-{unique}"
        assert conn["oauth_config"]["client_id"] == "cid-1"
        assert conn["oauth_config"]["scopes"] == ["read", "admin"]
        assert conn["status"] == "COMPLETED"
        error_of(api.get(f"/api/v1/connections/patch-{unique}"), 404, 5)
        assert api.get(f"/api/v1/connections/p2-{unique}").json()["connection"]["id"] == made["id"]

        # scopes: required ones are kept, the rest replaced
        scoped = api.patch(
            f"/api/v1/connections/{made['id']}", json={"oauth_config": {"scopes": ["delete"]}}
        ).json()["connection"]
        assert scoped["oauth_config"]["scopes"] == ["read", "admin", "delete"]
        assert scoped["oauth_config"]["client_id"] == "cid-1"
        assert scoped["key_id"] == f"p2-{unique}"

        # a new client secret: never echoed, status stays COMPLETED
        replaced = api.patch(
            f"/api/v1/connections/{made['id']}",
            json={"oauth_config": {"client_secret": second_secret, "client_id": "cid-2"}},
        )
        assert replaced.status_code == 200, replaced.text
        assert second_secret not in replaced.text and first_secret not in replaced.text
        assert replaced.json()["connection"]["oauth_config"]["client_id"] == "cid-2"
        assert replaced.json()["connection"]["oauth_config"]["scopes"] == [
            "read",
            "admin",
            "delete",
        ]
        assert replaced.json()["connection"]["status"] == "COMPLETED"

        # enabled can be patched too
        off = api.patch(f"/api/v1/connections/{made['id']}", json={"enabled": False})
        assert off.json()["connection"]["enabled"] is False

        log = audit_text(api)
        assert first_secret not in log and second_secret not in log
        updates = [
            e
            for e in api.get(
                "/api/v1/audit-logs", params={"resource_type": "connection", "page_size": 1000}
            ).json()["audit_logs"]
            if e["action"] == "connection.update"
            and e["after"]["config"].get("client_id") in {"cid-1", "cid-2"}
            and e["after"]["provider_key"] == ident
        ]
        assert len(updates) == 4
        assert all(e["before"]["client_secret_set"] and e["after"]["client_secret_set"]
                   for e in updates)  # fmt: skip
        rename = updates[-1]  # newest first
        assert rename["before"]["key_id"] == f"patch-{unique}"
        assert rename["after"]["key_id"] == f"p2-{unique}"

        # the same provider_key and type are fine (a no-op)
        same = api.patch(
            f"/api/v1/connections/{made['id']}", json={"provider_key": ident, "type": "OAUTH"}
        )
        assert same.status_code == 200, same.text
        assert same.json()["connection"]["key_id"] == f"p2-{unique}"

        error_of(api.patch(f"/api/v1/connections/nosuch-{unique}", json={"enabled": True}), 404, 5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"provider_key": "openai"}, "provider_key", id="provider_key"),
        pytest.param({"type": "API_KEY"}, "type", id="type"),
        pytest.param({"type": 8}, "type", id="type-by-number"),
        pytest.param({"id": "conn_other"}, "id", id="id"),
        pytest.param({"status": "DRAFT"}, "status", id="status"),
        pytest.param(
            {"oauth_config": {"redirect_uri": "https://evil.example/cb"}},
            "oauth_config.redirect_uri",
            id="redirect_uri",
        ),
        pytest.param(
            {"oauth_config": {"use_platform_creds": True}},
            "oauth_config.use_platform_creds",
            id="use_platform_creds",
        ),
        pytest.param({"key_id": "bad name"}, "key_id", id="key_id-with-a-space"),
        pytest.param({"unknown": 1}, "unknown", id="unknown-field"),
    ],
)
def test_what_an_update_cannot_change(
    server: Server, dev_client: dict[str, str], unique: str, body: dict[str, Any], field: str
) -> None:
    with server.api(dev_client) as api:
        ident = create_provider(api, oauth_provider(f"Patch Fixed {unique}"))
        made = create_connection(
            api,
            {
                "provider_key": ident,
                "key_id": f"fixed-{unique}",
                "oauth_config": {"client_id": "cid-1", "client_secret": f"secret-{unique}"},
            },
        )
        response = api.patch(f"/api/v1/connections/{made['id']}", json=body)
        assert set(violations(response)) == {field}
        kept = api.get(f"/api/v1/connections/{made['id']}")
        assert kept.json() == {"connection": made}


def test_patch_static_connection(server: Server, dev_client: dict[str, str], unique: str) -> None:
    with server.api(dev_client) as api:
        key = create_provider(api, api_key_provider(f"Patch Key {unique}"))
        create_connection(api, {"provider_key": key, "key_id": f"ps-{unique}"})
        taken = create_connection(api, {"provider_key": key, "key_id": f"ps-other-{unique}"})
        response = api.patch(
            f"/api/v1/connections/ps-{unique}", json={"oauth_config": {"client_id": "x"}}
        )
        assert set(violations(response)) == {"oauth_config"}
        clash = api.patch(f"/api/v1/connections/ps-{unique}", json={"key_id": f"ps-other-{unique}"})
        body = error_of(clash, 409, 6)
        assert f"ps-other-{unique}" in body["message"] and taken["id"] in body["message"]
        # renaming to its own name is a no-op, not a conflict
        same = api.patch(f"/api/v1/connections/ps-{unique}", json={"key_id": f"ps-{unique}"})
        assert same.status_code == 200, same.text
        # an empty patch changes nothing but is fine
        empty = api.patch(f"/api/v1/connections/ps-{unique}", json={})
        assert empty.status_code == 200 and empty.json()["connection"]["type"] == "API_KEY"


def test_enable_and_disable_round_trip(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        made = create_connection(api, {"provider_key": "openai", "key_id": f"toggle-{unique}"})
        assert made["enabled"] is True
        off = api.patch(f"/api/v1/connections/{made['id']}:disable")
        assert off.status_code == 200, off.text
        assert off.json() == {"enabled": False, "error_message": ""}
        assert api.get(f"/api/v1/connections/{made['id']}").json()["connection"]["enabled"] is False
        # disabling twice is fine
        assert api.patch(f"/api/v1/connections/toggle-{unique}:disable").json()["enabled"] is False
        on = api.patch(f"/api/v1/connections/toggle-{unique}:enable")
        assert on.json() == {"enabled": True, "error_message": ""}
        assert api.get(f"/api/v1/connections/toggle-{unique}").json()["connection"]["enabled"]
        actions = [
            e["action"]
            for e in api.get(
                "/api/v1/audit-logs", params={"resource_id": f"toggle-{unique}"}
            ).json()["audit_logs"]
        ]
        assert actions == [
            "connection.enable",
            "connection.disable",
            "connection.disable",
            "connection.create",
        ]
        error_of(api.patch(f"/api/v1/connections/nosuch-{unique}:enable"), 404, 5)
        error_of(api.patch(f"/api/v1/connections/nosuch-{unique}:disable"), 404, 5)
        # created disabled
        cold = create_connection(
            api, {"provider_key": "openai", "key_id": f"cold-{unique}", "enabled": False}
        )
        assert cold["enabled"] is False


def test_list_pagination_and_filters(server: Server, unique: str) -> None:
    env = f"list-{unique}"
    create_environment(server.backend, env)
    with server.api(create_client(server.backend, env)) as api:
        empty = api.get("/api/v1/connections/app")
        assert empty.status_code == 200
        assert empty.json() == {"connections": [], "next_page_token": "", "total_size": 0}
        key = create_provider(api, api_key_provider("Listed Key"))
        names = ["e-openai", "a-openai", "c-key", "b-github", "d-openai"]
        for name in names:
            provider = name.split("-")[1].replace("key", key)
            create_connection(api, {"provider_key": provider, "key_id": name})

        seen: list[str] = []
        params: dict[str, Any] = {"page_size": 2}
        pages = 0
        while True:
            response = api.get("/api/v1/connections/app", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"connections", "next_page_token", "total_size"}
            assert body["total_size"] == 5
            assert len(body["connections"]) <= 2
            seen += [c["key_id"] for c in body["connections"]]
            pages += 1
            if not body["next_page_token"]:
                break
            params["page_token"] = body["next_page_token"]
        assert pages == 3
        assert seen == sorted(names)

        by_provider = api.get("/api/v1/connections/app", params={"provider": "openai"}).json()
        assert by_provider["total_size"] == 3
        assert [c["key_id"] for c in by_provider["connections"]] == [
            "a-openai",
            "d-openai",
            "e-openai",
        ]
        page = api.get(
            "/api/v1/connections/app", params={"provider": "openai", "page_size": 2}
        ).json()
        rest = api.get(
            "/api/v1/connections/app",
            params={"provider": "openai", "page_size": 2, "page_token": page["next_page_token"]},
        ).json()
        assert [c["key_id"] for c in rest["connections"]] == ["e-openai"]
        assert rest["next_page_token"] == "" and rest["total_size"] == 3

        # query matches the connection name or the provider, case-insensitively
        assert [
            c["key_id"]
            for c in api.get("/api/v1/connections/app", params={"query": "GITHUB"}).json()[
                "connections"
            ]
        ] == ["b-github"]
        assert (
            api.get("/api/v1/connections/app", params={"query": "listed"}).json()["total_size"] == 1
        )
        # LIKE wildcards in the query are plain characters
        for literal in ("%", "_", "a%"):
            found = api.get("/api/v1/connections/app", params={"query": literal}).json()
            assert found["total_size"] == 0, literal
        assert api.get("/api/v1/connections/app", params={"query": "-"}).json()["total_size"] == 5
        assert (
            api.get("/api/v1/connections/app", params={"provider": "nosuch"}).json()["total_size"]
            == 0
        )
        # the whole list in one page by default (page_size ≤ 30)
        assert len(api.get("/api/v1/connections/app").json()["connections"]) == 5
        assert (
            len(api.get("/api/v1/connections/app", params={"page_size": 30}).json()["connections"])
            == 5
        )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"page_size": 31}, "page_size", id="page_size-over-30"),
        pytest.param({"page_size": -1}, "page_size", id="page_size-negative"),
        pytest.param({"page_size": "many"}, "page_size", id="page_size-not-a-number"),
        pytest.param({"page_token": "%%%"}, "page_token", id="page_token-not-base64"),
        pytest.param({"page_token": "bm90LWpzb24"}, "page_token", id="page_token-not-json"),
        pytest.param({"page_token": "MTIz"}, "page_token", id="page_token-a-number"),
    ],
)
def test_a_bad_list_parameter_is_refused(
    server: Server, dev_client: dict[str, str], params: dict[str, Any], field: str
) -> None:
    with server.api(dev_client) as api:
        assert set(violations(api.get("/api/v1/connections/app", params=params))) == {field}


def test_delete_with_accounts_needs_force(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        key = create_provider(api, api_key_provider(f"Del Key {unique}"))
        conn = create_connection(api, {"provider_key": key, "key_id": f"del-{unique}"})
        accounts = [
            create_account(api, f"del-{unique}", f"user{i}@example.com", static(api_key=f"k{i}"))
            for i in range(2)
        ]

        refused = api.delete(f"/api/v1/connections/del-{unique}")
        body = error_of(refused, 412, 9)
        assert "2 connected accounts" in body["message"] and "force=true" in body["message"]
        assert f"del-{unique}" in body["message"]
        assert api.get(f"/api/v1/connections/{conn['id']}").status_code == 200
        listed = api.get("/api/v1/connected_accounts", params={"connector": f"del-{unique}"})
        assert listed.json()["total_size"] == 2

        # the provider cannot go while the connection exists; the message names it
        provider_delete = api.delete(f"/api/v1/custom-providers/{key}")
        body = error_of(provider_delete, 412, 9)
        assert f"del-{unique}" in body["message"] and "2 connected accounts" in body["message"]

        forced = api.delete(f"/api/v1/connections/{conn['id']}", params={"force": "true"})
        assert forced.status_code == 200, forced.text
        assert forced.json() == {}
        error_of(api.get(f"/api/v1/connections/{conn['id']}"), 404, 5)
        error_of(api.delete(f"/api/v1/connections/{conn['id']}"), 404, 5)
        for account in accounts:
            error_of(
                api.get("/api/v1/connected_accounts/details", params={"id": account["id"]}), 404, 5
            )
        assert (
            api.get("/api/v1/connected_accounts", params={"provider": key}).json()["total_size"]
            == 0
        )
        entry = api.get(
            "/api/v1/audit-logs", params={"resource_id": f"del-{unique}", "page_size": 1}
        ).json()["audit_logs"][0]
        assert entry["action"] == "connection.delete"
        assert entry["before"]["connected_accounts_deleted"] == 2 and entry["after"] is None

        # now the provider delete works, and the name can be used again
        assert api.delete(f"/api/v1/custom-providers/{key}").status_code == 200
        again = create_connection(api, {"provider_key": "openai", "key_id": f"del-{unique}"})
        assert again["id"] != conn["id"]


def test_delete_without_accounts_and_provider_delete_order(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as api:
        ident = create_provider(api, oauth_provider(f"Order OAuth {unique}"))
        create_connection(api, {"provider_key": ident, "key_id": f"order-{unique}"})
        refused = error_of(api.delete(f"/api/v1/custom-providers/{ident}"), 412, 9)
        assert f"order-{unique}" in refused["message"]
        assert "0 connected accounts" in refused["message"]
        response = api.delete(f"/api/v1/connections/order-{unique}")
        assert response.status_code == 200 and response.json() == {}
        assert api.delete(f"/api/v1/custom-providers/{ident}").status_code == 200
        # force on a connection without accounts is harmless; unknown ones are 404
        error_of(api.delete(f"/api/v1/connections/order-{unique}?force=true"), 404, 5)
        assert set(violations(api.delete(f"/api/v1/connections/order-{unique}?force=maybe"))) == {
            "force"
        }


def test_other_environments_cannot_see_or_change_connections(
    server: Server, dev_client: dict[str, str], prod_client: dict[str, str], unique: str
) -> None:
    with server.api(dev_client) as dev, server.api(prod_client) as prod:
        made = create_connection(dev, {"provider_key": "openai", "key_id": f"iso-{unique}"})
        for ref in (made["id"], f"iso-{unique}"):
            error_of(prod.get(f"/api/v1/connections/{ref}"), 404, 5)
            error_of(prod.patch(f"/api/v1/connections/{ref}", json={"enabled": False}), 404, 5)
            error_of(prod.patch(f"/api/v1/connections/{ref}:disable"), 404, 5)
            error_of(prod.delete(f"/api/v1/connections/{ref}", params={"force": "true"}), 404, 5)
        listed = prod.get("/api/v1/connections/app", params={"query": unique}).json()
        assert listed["total_size"] == 0
        # the same name is free in production
        mine = create_connection(prod, {"provider_key": "openai", "key_id": f"iso-{unique}"})
        assert mine["id"] != made["id"]
        still = dev.get(f"/api/v1/connections/{made['id']}").json()["connection"]
        assert still["enabled"] is True
        # a dev custom provider is unknown in production
        key = create_provider(dev, api_key_provider(f"Iso Key {unique}"))
        response = prod.post("/api/v1/connections", params=APP, json={"provider_key": key})
        assert set(violations(response)) == {"provider_key"}


def test_connection_routes_need_a_token(server: Server) -> None:
    for method, path in (
        ("GET", "/api/v1/connections/app"),
        ("POST", "/api/v1/connections"),
        ("GET", "/api/v1/connections/x"),
        ("PATCH", "/api/v1/connections/x:enable"),
        ("DELETE", "/api/v1/connections/x"),
    ):
        response = httpx.request(method, f"{server.url}{path}", json={})
        error_of(response, 401, 16)
