"""Inference from docs pages (HTML and Markdown), one fixture per rule."""

from __future__ import annotations

import pytest

from authrelay.providers.infer import infer

from .helpers import names, pattern, read

# fixture, auth type, fields, header override, proxy_url
CASES: list[tuple[str, str, list[str], str | None, str]] = [
    # Markdown curl with -H "Authorization: Bearer ..." (two URLs share /v1)
    ("bearer_curl.md", "BEARER", ["token"], None, "https://api.notely.example/v1"),
    # HTML <pre> with curl -u user:password / --user; script content ignored
    (
        "basic_user_password.html",
        "BASIC",
        ["username", "password"],
        None,
        "https://api.ledgerly.example/api/v2",
    ),
    # Markdown curl -u KEY: with a YOUR-company host: username only, domain field
    (
        "basic_key_colon.md",
        "BASIC",
        ["domain", "username"],
        None,
        "https://{{domain}}.deskflow.example/api/v2",
    ),
    # HTML curl with -H "X-API-Key: <key>" (entities unescaped)
    ("x_api_key_curl.html", "API_KEY", ["api_key"], "X-API-Key", "https://api.weatherwise.example"),
    # Markdown curl with Authorization: Token ... → prefix
    ("token_prefix.md", "API_KEY", ["api_key"], None, "https://shelfstack.example/api"),
    # HTML full OAuth URLs, scope table, curl for the API host
    ("oauth_endpoints.html", "OAUTH", [], None, "https://api.planr.example/v1"),
    # Markdown /oauth/authorize and /oauth/token paths, scope list
    ("oauth_paths.md", "OAUTH", [], None, "https://api.pipeline.example/v3"),
    # Markdown "HTTP Basic authentication" phrase and "Base URL:"
    ("phrase_basic.md", "BASIC", ["username", "password"], None, "https://api.basicly.example/v1"),
    # HTML "X-Vaultly-Key header" phrase, base URL in a link
    (
        "phrase_api_key.html",
        "API_KEY",
        ["api_key"],
        "X-Vaultly-Key",
        "https://api.vaultly.example/v2",
    ),
    # Markdown curl with http:// → https assumed
    ("http_base.md", "BEARER", ["token"], None, "https://items.legacy.example/v1"),
    # HTML "Authorization: Bearer <token>" phrase without curl
    ("bearer_phrase.html", "BEARER", ["token"], None, "https://streamline.example/api/v4"),
    # Markdown bare "API key" mention: header assumed
    ("api_key_phrase.md", "API_KEY", ["api_key"], None, "https://quoteboard.example/api"),
]


@pytest.mark.parametrize(("fixture", "auth_type", "fields", "override", "proxy_url"), CASES)
def test_docs_fixture(
    fixture: str, auth_type: str, fields: list[str], override: str | None, proxy_url: str
) -> None:
    result = infer(docs=read("docs", fixture))
    p = pattern(result)
    assert result.auth_type == auth_type
    assert names(p["fields"]) == fields
    assert p.get("auth_header_key_override") == override
    assert result.provider is not None
    assert result.provider["proxy_url"] == proxy_url
    assert result.evidence


def test_curl_bearer_evidence_names_the_passage() -> None:
    result = infer(docs=read("docs", "bearer_curl.md"))
    assert "Authorization: Bearer" in result.evidence[0]
    assert result.provider is not None and result.provider["display_name"] == "Notely"


def test_script_content_is_not_evidence() -> None:
    result = infer(docs=read("docs", "basic_user_password.html"))
    assert not any("nope" in e for e in result.evidence + result.alternatives)
    assert result.provider is not None and result.provider["display_name"] == "Ledgerly"


def test_key_as_username() -> None:
    result = infer(docs=read("docs", "basic_key_colon.md"))
    fields = {f["field_name"]: f for f in pattern(result)["fields"]}
    assert fields["username"]["input_type"] == "password"
    assert "password" not in fields
    assert any("empty password" in a or "sent empty" in a for a in result.assumptions)


def test_token_prefix_mutation() -> None:
    p = pattern(infer(docs=read("docs", "token_prefix.md")))
    assert p["auth_field_mutations"] == {"api_key": {"prefix": "Token "}}


def test_oauth_full_urls_and_scope_table() -> None:
    result = infer(docs=read("docs", "oauth_endpoints.html"))
    config = pattern(result)["oauth_config"]
    assert config["authorize_uri"] == "https://auth.planr.example/oauth/authorize"
    assert config["token_uri"] == "https://auth.planr.example/oauth/token"
    assert [(s["scope"], s["display_name"]) for s in config["available_scopes"]] == [
        ("boards:read", "Read boards and cards"),
        ("boards:write", "Create and move cards"),
        ("offline_access", "Refresh tokens"),
    ]
    assert any(a.startswith("BEARER") for a in result.alternatives)


def test_oauth_paths_on_the_api_host() -> None:
    result = infer(docs=read("docs", "oauth_paths.md"))
    config = pattern(result)["oauth_config"]
    assert config["authorize_uri"] == "https://api.pipeline.example/oauth/authorize"
    assert config["token_uri"] == "https://api.pipeline.example/oauth/token"
    assert [s["scope"] for s in config["available_scopes"]] == [
        "deals.read",
        "deals.write",
        "contacts.read",
    ]
    assert any("/oauth/authorize" in a for a in result.assumptions)


def test_http_docs_assume_https() -> None:
    result = infer(docs=read("docs", "http_base.md"))
    assert any("http://items.legacy.example" in a and "https" in a for a in result.assumptions)


def test_bare_api_key_mention_says_header_is_assumed() -> None:
    result = infer(docs=read("docs", "api_key_phrase.md"))
    assert any("Authorization header" in a for a in result.assumptions)


def test_page_without_auth() -> None:
    result = infer(docs=read("docs", "nothing.html"))
    assert result.provider is None
    assert any("no recognisable authentication" in m for m in result.missing)


def test_docs_without_base_url_use_domain_field() -> None:
    result = infer(docs="# Thing\n\nSend `Authorization: Bearer <token>` with every call.\n")
    p = pattern(result)
    assert names(p["fields"]) == ["domain", "token"]
    assert result.provider is not None and result.provider["proxy_url"] == "https://{{domain}}"
    assert any("no base URL" in m for m in result.missing)


def test_bytes_docs() -> None:
    result = infer(docs=read("docs", "bearer_curl.md").encode())
    assert result.auth_type == "BEARER"
