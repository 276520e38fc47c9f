"""Inference from OpenAPI 2.0 / 3.0 / 3.1 documents, one fixture per rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authrelay.providers.infer import infer

from .helpers import names, pattern, read

# fixture, auth type, fields, account_fields, header override, proxy_url
CASES: list[tuple[str, str, list[str], list[str], str | None, str]] = [
    # 3.0 YAML, oauth2 authorizationCode with scopes; paths share /1.0 under the server path
    ("oauth_v30.yaml", "OAUTH", [], [], None, "https://app.taskly.example/api/1.0"),
    # 2.0 JSON, oauth2 flow accessCode; host + basePath
    ("oauth_v20.json", "OAUTH", [], [], None, "https://api.mailbird.example/v1"),
    # 3.0 JSON, http basic
    (
        "basic_v30.json",
        "BASIC",
        ["username", "password"],
        [],
        None,
        "https://api.ledgerly.example/v3",
    ),
    # 3.1 YAML, http bearer
    ("bearer_v31.yaml", "BEARER", ["token"], [], None, "https://api.notely.example"),
    # 3.0 YAML, apiKey in a custom header
    (
        "apikey_header_v30.yaml",
        "API_KEY",
        ["api_key"],
        [],
        "X-API-Key",
        "https://api.weatherwise.example/data/2.5",
    ),
    # 3.0 JSON, apiKey in Authorization with "Token <key>" in its description
    ("apikey_prefix_v30.json", "API_KEY", ["api_key"], [], None, "https://shelfstack.example/api"),
    # 3.0 YAML, custom header with a prefix shown in info.description
    (
        "custom_header_prefix_v30.yaml",
        "API_KEY",
        ["api_key"],
        [],
        "X-Klaxon-Auth",
        "https://metrics.klaxon.example/v1",
    ),
    # 2.0 YAML, query apiKey (unsupported) next to basic: basic is used
    (
        "query_and_basic_v20.yaml",
        "BASIC",
        ["username", "password"],
        [],
        None,
        "https://stats.pixel.example/api",
    ),
    # 3.0 JSON, five schemes: the rule picks bearer
    ("several_schemes_v30.json", "BEARER", ["token"], [], None, "https://api.multipass.example"),
    # 3.1 YAML, basic listed before oauth2: OAuth still wins
    ("oauth_beats_basic_v31.yaml", "OAUTH", [], [], None, "https://api.docstore.example/v2"),
    # 3.0 YAML, server variables for host, version and a path parameter
    (
        "server_vars_v30.yaml",
        "BASIC",
        ["tenant", "version", "workspace_id", "username", "password"],
        [],
        None,
        "https://{{tenant}}.helpdesk.example/api/{{version}}/{{workspace_id}}",
    ),
    # 3.0 JSON, server variables on an OAuth provider become account fields
    (
        "server_vars_oauth_v30.json",
        "OAUTH",
        [],
        ["region", "version"],
        None,
        "https://{{region}}.crm.example/{{version}}",
    ),
    # 3.0 YAML, every path starts with /rest/v3
    (
        "common_prefix_v30.yaml",
        "BEARER",
        ["token"],
        [],
        None,
        "https://api.prefixer.example/rest/v3",
    ),
    # 3.0 JSON, relative server URL: the host becomes a domain field
    (
        "relative_server_v30.json",
        "API_KEY",
        ["domain", "api_key"],
        [],
        "X-Wiki-Token",
        "https://{{domain}}/api/v1",
    ),
    # 2.0 JSON, http-only schemes and a port: https assumed
    (
        "http_only_v20.json",
        "API_KEY",
        ["api_key"],
        [],
        "X-Auth-Token",
        "https://inventory.legacy.example:8443/svc",
    ),
    # 3.1 JSON, no servers at all
    ("no_servers_v31.json", "BEARER", ["domain", "token"], [], None, "https://{{domain}}"),
    # 3.0 YAML, relative OAuth URLs resolved against the server
    ("relative_oauth_urls_v30.yaml", "OAUTH", [], [], None, "https://calendaroo.example/api/v1"),
]


@pytest.mark.parametrize(
    ("fixture", "auth_type", "fields", "account", "override", "proxy_url"), CASES
)
def test_openapi_fixture(
    fixture: str,
    auth_type: str,
    fields: list[str],
    account: list[str],
    override: str | None,
    proxy_url: str,
) -> None:
    result = infer(openapi=read("openapi", fixture))
    p = pattern(result)
    assert result.auth_type == auth_type
    assert p["type"] == auth_type
    assert names(p["fields"]) == fields
    assert names(p.get("account_fields", [])) == account
    assert p.get("auth_header_key_override") == override
    assert result.provider is not None
    assert result.provider["proxy_url"] == proxy_url
    assert result.provider["proxy_enabled"] is True
    assert result.evidence and result.proxy_url_reason
    for field in p["fields"]:
        if field["field_name"] in {"password", "token", "api_key"}:
            assert field["input_type"] == "password"


def _oauth(fixture: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    p = pattern(infer(openapi=read("openapi", fixture)))
    config: dict[str, Any] = p["oauth_config"]
    return config, config["available_scopes"]


def test_oauth_v3_urls_scopes_and_required_scopes() -> None:
    config, scopes = _oauth("oauth_v30.yaml")
    assert config["authorize_uri"] == "https://app.taskly.example/oauth/authorize"
    assert config["token_uri"] == "https://app.taskly.example/oauth/token"
    by_name = {s["scope"]: s for s in scopes}
    assert list(by_name) == ["tasks:read", "tasks:write", "profile"]
    assert by_name["tasks:read"]["display_name"] == "Read tasks"
    assert by_name["tasks:read"]["required"] is True  # named by the global security requirement
    assert by_name["tasks:write"]["required"] is False
    assert by_name["profile"]["display_name"] == "profile"  # no description: the name


def test_oauth_v2_access_code() -> None:
    config, scopes = _oauth("oauth_v20.json")
    assert config["authorize_uri"] == "https://login.mailbird.example/authorize"
    assert config["token_uri"] == "https://login.mailbird.example/token"
    assert [(s["scope"], s["display_name"]) for s in scopes] == [
        ("contacts.read", "Read contacts"),
        ("lists.write", "Manage lists"),
    ]


def test_relative_oauth_urls_are_resolved_and_said() -> None:
    result = infer(openapi=read("openapi", "relative_oauth_urls_v30.yaml"))
    config = pattern(result)["oauth_config"]
    assert config["authorize_uri"] == "https://calendaroo.example/oauth/authorize"
    assert config["token_uri"] == "https://calendaroo.example/oauth/token"
    assert any("relative authorizationUrl" in a for a in result.assumptions)


def test_prefix_from_description() -> None:
    result = infer(openapi=read("openapi", "apikey_prefix_v30.json"))
    assert pattern(result)["auth_field_mutations"] == {"api_key": {"prefix": "Token "}}
    assert any("Token <your key>" in a for a in result.assumptions)


def test_prefix_for_custom_header() -> None:
    p = pattern(infer(openapi=read("openapi", "custom_header_prefix_v30.yaml")))
    assert p["auth_field_mutations"] == {"api_key": {"prefix": "Klaxon-Key "}}


def test_no_prefix_when_none_shown() -> None:
    p = pattern(infer(openapi=read("openapi", "apikey_header_v30.yaml")))
    assert "auth_field_mutations" not in p


def test_query_api_key_becomes_auth_query_param() -> None:
    result = infer(openapi=read("openapi", "apikey_query_v30.yaml"))
    p = pattern(result)
    assert result.auth_type == "API_KEY" and p["auth_query_param"] == "api_key"
    assert "auth_header_key_override" not in p and names(p["fields"]) == ["api_key"]
    assert any("query parameter 'api_key'" in a for a in result.assumptions)
    assert "Credential query parameter: api_key" in result.summary()


def test_query_api_key_comes_after_header_schemes() -> None:
    result = infer(openapi=read("openapi", "query_and_basic_v20.yaml"))
    assert result.auth_type == "BASIC"
    assert any(a.startswith("API_KEY: ") and "queryKey" in a for a in result.alternatives)


def test_query_and_cookie_keys_that_cannot_be_used() -> None:
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Odd", "version": "1"},
        "servers": [{"url": "https://api.odd.example"}],
        "paths": {"/x": {}},
        "components": {
            "securitySchemes": {
                "q": {"type": "apiKey", "in": "query", "name": "key&evil=1"},
                "c": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
    }
    result = infer(openapi=json.dumps(doc))
    assert result.provider is None
    text = " ".join(result.missing)
    assert "'key&evil=1' is not one auth_query_param takes" in text
    assert "cookie parameter" in text


def test_several_schemes_rule_and_alternatives() -> None:
    result = infer(openapi=read("openapi", "several_schemes_v30.json"))
    assert result.auth_type == "BEARER"
    alternatives = " ".join(result.alternatives)
    for name in ("basic", "headerKey", "machine", "cookie"):
        assert name in alternatives
    assert any("authorization-code" in a for a in result.assumptions)


def test_oauth_wins_over_earlier_basic() -> None:
    result = infer(openapi=read("openapi", "oauth_beats_basic_v31.yaml"))
    assert result.auth_type == "OAUTH"
    assert [a for a in result.alternatives if a.startswith("BASIC")]


def test_server_variables_become_fields() -> None:
    p = pattern(infer(openapi=read("openapi", "server_vars_v30.yaml")))
    fields = {f["field_name"]: f for f in p["fields"]}
    assert "acme" in fields["tenant"]["hint"]
    assert fields["version"]["hint"] == "e.g. v2"
    assert fields["workspace_id"]["is_path_param"] is True
    assert not fields["tenant"].get("is_path_param")


def test_relative_and_missing_servers_are_reported() -> None:
    relative = infer(openapi=read("openapi", "relative_server_v30.json"))
    assert any("relative" in m and "/api/v1" in m for m in relative.missing)
    none = infer(openapi=read("openapi", "no_servers_v31.json"))
    assert any("no servers" in m for m in none.missing)


def test_http_scheme_assumes_https() -> None:
    result = infer(openapi=read("openapi", "http_only_v20.json"))
    assert any("https" in a for a in result.assumptions)


def test_no_security_gives_no_provider() -> None:
    result = infer(openapi=read("openapi", "no_security_v30.yaml"))
    assert result.provider is None
    assert any("no security schemes" in m for m in result.missing)


def test_malformed_document() -> None:
    result = infer(openapi=read("openapi", "malformed.yaml"))
    assert result.provider is None
    assert any("neither valid JSON nor valid YAML" in m for m in result.missing)


def test_only_unsupported_schemes() -> None:
    result = infer(openapi=read("openapi", "unsupported_only_v30.json"))
    assert result.provider is None
    text = " ".join(result.missing)
    assert "digest" in text and "openIdConnect" in text and "mutualTLS" in text


def test_title_and_name() -> None:
    result = infer(openapi=read("openapi", "bearer_v31.yaml"))
    assert result.provider is not None and result.provider["display_name"] == "Notely"
    named = infer(openapi=read("openapi", "bearer_v31.yaml"), name="My Notes (prod)!")
    assert named.provider is not None and named.provider["display_name"] == "My Notes prod"


def test_bytes_input() -> None:
    result = infer(openapi=read("openapi", "basic_v30.json").encode())
    assert result.auth_type == "BASIC"
