"""Host-label placeholders (SPEC §3a) and authorization_params in-process: where a placeholder
may stand in a URL template, what may fill it, and the authorize URL that results."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authrelay.errors import InvalidArgument
from authrelay.oauth.rfc6749 import authorization_url
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.urls import HostNotAllowed, fill_placeholders

ALLOW = UpstreamAllowlist(["127.0.0.0/8", "localhost", "*.internal.test"])
NONE = UpstreamAllowlist([])
# Every value here must be refused for a host-label placeholder, before any request.
HOSTILE = [
    "acme\r\nX-Injected: 1",
    "acme\n",
    "..",
    "a..b",
    "evil.com@acme",
    "@evil.com",
    "acme#",
    "acme:8443",
    "acme.evil.com",
    "",
    "acme/evil",
    "acme?x=1",
    "acme evil",
    "-acme",
    "acme-",
    "a" * 64,
    "%2e%2e",
    "[::1]",
]


def oauth_definition(**urls: str) -> dict[str, Any]:
    config = {
        "authorize_uri": "https://{{subdomain}}.zendesk.com/oauth/authorizations/new",
        "token_uri": "https://{{subdomain}}.zendesk.com/oauth/tokens",
        "user_info_uri": "https://{{subdomain}}.zendesk.com/api/v2/users/me",
        **urls,
    }
    return {
        "display_name": "Zendesk Tenant",
        "auth_patterns": [
            {
                "type": "OAUTH",
                "account_fields": [{"field_name": "subdomain", "required": True}],
                "oauth_config": config,
            }
        ],
        "proxy_url": "https://{{subdomain}}.zendesk.com/api/v2",
        "proxy_enabled": True,
    }


def static_definition(proxy_url: str) -> dict[str, Any]:
    return {
        "display_name": "Tenant Key",
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [
                    {"field_name": "api_key", "input_type": "password", "required": True},
                    {"field_name": "tenant", "required": True},
                    {"field_name": "region"},
                ],
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def violations(raw: Any, allowlist: UpstreamAllowlist = ALLOW) -> dict[str, str]:
    try:
        validate_definition(raw, allowlist)
    except InvalidArgument as exc:
        found: dict[str, str] = {}
        for v in exc.violations:
            found[v.field] = (
                f"{found[v.field]} | {v.description}" if v.field in found else (v.description)
            )
        return found
    return {}


def test_any_field_may_be_a_whole_host_label_in_every_template() -> None:
    assert violations(oauth_definition()) == {}
    for url in (
        "https://{{tenant}}.example.com/api",
        "https://{{tenant}}.{{region}}.example.com",
        "https://api.{{tenant}}.example.com:8443/v1",
        "https://{{tenant}}",
    ):
        assert violations(static_definition(url)) == {}, url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://api-{{tenant}}.example.com", "whole label"),
        ("https://{{tenant}}api.example.com", "whole label"),
        ("https://{{tenant}}-{{region}}.example.com", "whole label"),
        ("https://example.com:{{tenant}}/api", "port"),
        ("https://{{tenant}}@example.com/api", "user information"),
        ("https://user:{{tenant}}@example.com", "user information"),
        ("{{tenant}}://example.com/api", "scheme"),
        ("https://{{unknown}}.example.com", "names no field"),
    ],
)
def test_misplaced_host_placeholders_are_refused(url: str, words: str) -> None:
    found = violations(static_definition(url))
    assert "proxy_url" in found and words in found["proxy_url"], found


def test_misplaced_placeholders_in_oauth_urls_name_the_field() -> None:
    raw = oauth_definition(
        authorize_uri="https://x{{subdomain}}.zendesk.com/oauth/authorizations/new",
        token_uri="https://zendesk.com:{{subdomain}}/oauth/tokens",
        user_info_uri="https://{{subdomain}}@zendesk.com/me",
    )
    found = violations(raw)
    for key in ("authorize_uri", "token_uri", "user_info_uri"):
        assert f"auth_patterns[0].oauth_config.{key}" in found, found


def test_host_placeholders_need_no_path_param_flag_but_path_ones_still_do() -> None:
    assert violations(static_definition("https://{{tenant}}.example.com")) == {}
    found = violations(static_definition("https://example.com/{{tenant}}"))
    assert "is_path_param" in found["proxy_url"]


def test_http_with_a_placeholder_host_needs_an_allowlist() -> None:
    raw = static_definition("http://{{tenant}}.internal.test/api")
    assert violations(raw, ALLOW) == {}
    assert "allow-list" in violations(raw, NONE)["proxy_url"]
    oauth = oauth_definition(token_uri="http://{{subdomain}}.internal.test/token")
    assert violations(oauth, ALLOW) == {}
    assert "auth_patterns[0].oauth_config.token_uri" in violations(oauth, NONE)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_never_fill_a_host_label(value: str) -> None:
    templates = [
        "https://{{subdomain}}.zendesk.com/api/v2",
        "https://{{subdomain}}.zendesk.com/oauth/authorizations/new?x=1",
        "https://{{subdomain}}.zendesk.com/oauth/tokens",
        "http://{{subdomain}}.internal.test/api",
    ]
    for template in templates:
        with pytest.raises(ValueError, match="subdomain"):
            fill_placeholders(template, {"subdomain": value}, ALLOW)


def test_good_labels_fill_and_http_hosts_must_be_allow_listed() -> None:
    filled = fill_placeholders(
        "https://{{subdomain}}.zendesk.com/api/v2/{{cid}}", {"subdomain": "Acme-1", "cid": "x"}
    )
    assert filled == "https://Acme-1.zendesk.com/api/v2/x"
    assert fill_placeholders("http://{{t}}:9000/a", {"t": "localhost"}, ALLOW) == (
        "http://localhost:9000/a"
    )
    assert fill_placeholders("http://{{t}}.internal.test", {"t": "x"}, ALLOW)
    with pytest.raises(HostNotAllowed):
        fill_placeholders("http://{{t}}:9000/a", {"t": "intranet"}, ALLOW)
    with pytest.raises(HostNotAllowed):
        fill_placeholders("http://{{t}}.internal.test", {"t": "x"}, NONE)
    with pytest.raises(HostNotAllowed):
        fill_placeholders("http://{{t}}.internal.test", {"t": "x"}, None)
    # A whole host that is one numeric label would be read as an address: refused.
    with pytest.raises(ValueError, match="not a valid host name"):
        fill_placeholders("https://{{t}}/a", {"t": "2130706433"}, ALLOW)
    # {{domain}} keeps its host-name rule (several labels) for Scalekit compatibility.
    assert fill_placeholders("https://{{domain}}/api", {"domain": "acme.freshdesk.com"})


def test_authorization_params_accept_response_type_and_scope() -> None:
    raw = oauth_definition()
    raw["auth_patterns"][0]["oauth_config"]["authorization_params"] = {
        "response_type": "code",
        "scope": "read write",
        "audience": "api",
    }
    assert violations(raw) == {}
    for owned in ("client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"):
        bad = copy.deepcopy(raw)
        bad["auth_patterns"][0]["oauth_config"]["authorization_params"][owned] = "x"
        field = f"auth_patterns[0].oauth_config.authorization_params.{owned}"
        assert "set by authrelay" in violations(bad)[field]
    bad = copy.deepcopy(raw)
    config = bad["auth_patterns"][0]["oauth_config"]
    config["custom_scope_name"] = "user_scope"
    config["authorization_params"]["user_scope"] = "x"
    assert "auth_patterns[0].oauth_config.authorization_params.user_scope" in violations(bad)


def test_authorize_url_sends_response_type_and_merges_scope() -> None:
    url = authorization_url(
        "https://auth.example.com/authorize",
        client_id="cid",
        redirect_uri="https://relay.example.com/oauth/callback",
        state="s",
        scopes=["openid", "read"],
        extra={"response_type": "code id_token", "scope": "read  write,admin", "x": "1"},
        scope_separator=",",
    )
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code id_token"]
    assert query["scope"] == ["openid,read,write,admin"]
    assert query["x"] == ["1"]
    # Scopes under a custom parameter: `scope` goes as a parameter of its own.
    url = authorization_url(
        "https://slack.example.com/authorize",
        client_id="cid",
        redirect_uri="https://relay.example.com/cb",
        state="s",
        scopes=["users:read"],
        scope_param="user_scope",
        extra={"scope": "chat:write"},
    )
    query = parse_qs(urlsplit(url).query)
    assert query["user_scope"] == ["users:read"] and query["scope"] == ["chat:write"]
    assert query["response_type"] == ["code"]


def test_diff_shows_host_templates_and_authorization_params() -> None:
    from authrelay_client.providers.diff import diff_definitions

    old = oauth_definition()
    new = copy.deepcopy(old)
    new["proxy_url"] = "https://{{subdomain}}.zendesk.eu/api/v2"
    new["auth_patterns"][0]["oauth_config"]["authorization_params"] = {"scope": "write"}
    changes = {c.path: (c.kind, c.new) for c in diff_definitions(old, new)}
    assert changes["proxy_url"] == ("changed", "https://{{subdomain}}.zendesk.eu/api/v2")
    params = [p for p in changes if "authorization_params" in p]
    assert params, changes


def test_domain_in_an_http_host_is_checked_against_the_allowlist_too() -> None:
    assert fill_placeholders("http://{{domain}}/api", {"domain": "svc.internal.test"}, ALLOW)
    with pytest.raises(HostNotAllowed):
        fill_placeholders("http://{{domain}}/api", {"domain": "example.com"}, ALLOW)
    # a path placeholder after a host one keeps the path-segment rule
    assert fill_placeholders(
        "https://{{t}}.example.com/{{v}}", {"t": "acme", "v": "v1.2"}, ALLOW
    ).endswith("/v1.2")
