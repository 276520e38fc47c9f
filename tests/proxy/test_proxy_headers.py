"""`proxy_headers` (SPEC §3a) end to end: definition -> connection -> account -> proxied
call against a recording upstream. Provider and pattern templates, `{{field}}` values
(credentials included), the default injection skipped when a template places the
credential, and hostile templates and values refused."""

from __future__ import annotations

from typing import Any

from tests.support.proxy import enable, proxy_headers
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream, provider_definition


def _fields(*names: str) -> list[dict[str, Any]]:
    return [
        {"field_name": n, "input_type": "password" if n == "api_key" else "text"} for n in names
    ]


def test_provider_and_pattern_headers_with_templates(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hdr-{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers {unique}",
            upstream,
            type="API_KEY",
            fields=_fields("api_key", "app_id", "region"),
            proxy_headers={
                "X-App-Id": "{{app_id}}",
                "X-Api-Key": "{{api_key}}",
                "X-Region": "{{region}}",
            },
        )
        definition["proxy_headers"] = {
            "Notion-Version": "2022-06-28",
            "x-app-id": "provider-loses",
            "X-Client": "authrelay/{{app_id}}",
        }
        enable(api, definition, conn, "h@example.com", {"api_key": "key-1", "app_id": "app-7"})
        upstream.clear()
        response = api.get(
            "/proxy/v1/pages",
            headers=proxy_headers(
                conn,
                "h@example.com",
                **{"Notion-Version": "2025-09-03", "X-Other": "kept", "x-api-key": "callers"},
            ),
        )
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert seen.header("X-Api-Key") == "key-1"
        assert seen.header("X-App-Id") == "app-7"  # the pattern's wins over the provider's
        assert seen.header("X-Client") == "authrelay/app-7"
        # A templated header replaces the caller's header of the same name; a fixed one is
        # a default the caller may override.
        assert [v for k, v in seen.headers if k.lower() == "x-api-key"] == ["key-1"]
        assert [v for k, v in seen.headers if k.lower() == "notion-version"] == ["2025-09-03"]
        assert seen.header("X-Other") == "kept"
        # The key is placed by X-Api-Key: no default Authorization header.
        assert seen.header("Authorization") is None
        # region was left blank: its header is not sent.
        assert "x-region" not in seen.header_names()
        upstream.clear()
        response = api.get("/proxy/v1/pages", headers=proxy_headers(conn, "h@example.com"))
        assert response.status_code == 200, response.text
        assert upstream.requests[-1].header("Notion-Version") == "2022-06-28"
        provider = api.get(f"/api/v1/providers/headers{unique}").json()["provider"]
        assert provider["proxy_headers"] == definition["proxy_headers"]
        assert provider["auth_patterns"][0]["proxy_headers"]["X-Api-Key"] == "{{api_key}}"


def test_headers_without_the_credential_keep_the_default_injection(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hdrdef-{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers Default {unique}",
            upstream,
            type="BEARER",
            auth_field_mutations={"token": {"prefix": "v1."}},
        )
        definition["proxy_headers"] = {"anthropic-version": "2023-06-01"}
        enable(api, definition, conn, "d@example.com", {"token": "tok"})
        upstream.clear()
        response = api.get("/proxy/v1/messages", headers=proxy_headers(conn, "d@example.com"))
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert seen.header("Authorization") == "Bearer v1.tok"
        assert seen.header("anthropic-version") == "2023-06-01"


def test_basic_credential_placed_by_a_template(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """Mutations apply to credentials in templates as they do to the default injection."""
    conn = f"hdrbasic-{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers Basic {unique}",
            upstream,
            type="BASIC",
            fields=_fields("username", "password"),
            auth_field_mutations={"password": {"default": "X"}},
            proxy_headers={"X-User": "{{username}}", "X-Pass": "{{password}}"},
        )
        enable(api, definition, conn, "b@example.com", {"username": "ann"})
        upstream.clear()
        response = api.get("/proxy/v1/me", headers=proxy_headers(conn, "b@example.com"))
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert (seen.header("X-User"), seen.header("X-Pass")) == ("ann", "X")
        assert seen.header("Authorization") is None


def test_oauth_access_token_in_a_template(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hdroauth-{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers OAuth {unique}",
            upstream,
            type="OAUTH",
            fields=[],
            account_fields=[{"field_name": "tenant"}],
            oauth_config={
                "authorize_uri": f"{upstream.url}/authorize",
                "token_uri": f"{upstream.url}/token",
            },
            proxy_headers={"X-Token": "Token {{access_token}}", "X-Tenant": "{{tenant}}"},
        )
        enable(
            api,
            definition,
            conn,
            "o@example.com",
            oauth_token={"access_token": "at-42"},
            api_config={"tenant": "acme"},
        )
        upstream.clear()
        response = api.get("/proxy/v1/me", headers=proxy_headers(conn, "o@example.com"))
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert seen.header("X-Token") == "Token at-42"
        assert seen.header("X-Tenant") == "acme"
        assert seen.header("Authorization") is None


def test_hostile_filled_value_refused_before_any_request(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """A stored value that would split the header (CR/LF) is refused at request time with
    a clear error naming the header, and nothing reaches the upstream."""
    conn = f"hdrevil-{unique}"
    evil = f"acme\r\nX-Injected: {unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers Evil {unique}",
            upstream,
            type="OAUTH",
            fields=[],
            account_fields=[{"field_name": "tenant"}],
            oauth_config={
                "authorize_uri": f"{upstream.url}/authorize",
                "token_uri": f"{upstream.url}/token",
            },
            proxy_headers={"X-Tenant": "{{tenant}}"},
        )
        enable(
            api,
            definition,
            conn,
            "e@example.com",
            oauth_token={"access_token": "at-1"},
            api_config={"tenant": evil},
        )
        upstream.clear()
        response = api.get("/proxy/v1/me", headers=proxy_headers(conn, "e@example.com"))
        assert response.status_code == 400
        assert response.headers.get("x-authrelay-error") == "INVALID_ARGUMENT"
        assert "X-Tenant" in response.json()["message"]
        assert "X-Injected" not in response.text
        assert upstream.requests == []
        # Static accounts cannot store such a value in the first place.
        static = provider_definition(
            f"Headers Evil Static {unique}",
            upstream,
            type="API_KEY",
            fields=_fields("api_key", "app_id"),
            proxy_headers={"X-App-Id": "{{app_id}}"},
        )
        created = api.post("/api/v1/custom-providers", json=static)
        assert created.status_code == 201, created.text
        api.post(
            "/api/v1/connections",
            params={"flags.is_app": "true"},
            json={"provider_key": f"headersevilstatic{unique}", "key_id": f"{conn}-s"},
        ).raise_for_status()
        account = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": f"{conn}-s",
                "identifier": "s@example.com",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"api_key": "k", "app_id": "a\nb"}}
                    }
                },
            },
        )
        assert account.status_code == 400
    assert f"X-Injected: {unique}" not in server.log_text()


def test_hostile_templates_refused_naming_every_field(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Headers Bad {unique}",
            upstream,
            type="API_KEY",
            fields=_fields("api_key"),
            proxy_headers={
                "X-Split": "a\r\nInjected: 1",
                "Bad Name": "v",
                "Host": "evil.example",
                "Content-Length": "0",
                "X-Unknown": "{{nosuch}}",
                "X-Upper": "{{Api_Key}}",
                "Authorization": "static",
            },
        )
        definition["proxy_headers"] = {
            "X-Lf\n": "v",
            "X-Dup": "1",
            "x-dup": "2",
            "X-Where": "{{app_id}}",
        }
        response = api.post("/api/v1/custom-providers", json=definition)
        assert response.status_code == 400
        fields = {v["field"] for v in response.json()["details"][0]["field_violations"]}
        at = "auth_patterns[0].proxy_headers"
        assert fields == {
            f"{at}.X-Split",
            f"{at}.Bad Name",
            f"{at}.Host",
            f"{at}.Content-Length",
            f"{at}.X-Unknown",
            f"{at}.X-Upper",
            f"{at}.Authorization",
            "proxy_headers.X-Lf\n",
            "proxy_headers.x-dup",
            "proxy_headers.X-Where",
        }
        assert api.get(f"/api/v1/providers/headersbad{unique}").status_code == 404
        # NUL is refused by the body check that runs first, naming the field too.
        definition["proxy_headers"] = {"X-Nul": "a\x00b"}
        definition["auth_patterns"][0].pop("proxy_headers")
        nul = api.post("/api/v1/custom-providers", json=definition)
        assert nul.status_code == 400
        assert [v["field"] for v in nul.json()["details"][0]["field_violations"]] == [
            "proxy_headers.X-Nul"
        ]


def test_catalog_entries_carry_their_version_headers(
    server: Server, dev_client: dict[str, str]
) -> None:
    with server.api(dev_client) as api:
        for identifier, headers in (
            ("notion", {"Notion-Version": "2022-06-28"}),
            ("anthropic", {"anthropic-version": "2023-06-01"}),
        ):
            provider = api.get(f"/api/v1/providers/{identifier}").json()["provider"]
            assert provider["proxy_headers"] == headers
        # Providers that set none keep Scalekit's shape: no extension keys at all.
        asana = api.get("/api/v1/providers/asana").json()["provider"]
        assert "proxy_headers" not in asana and "retry" not in asana
