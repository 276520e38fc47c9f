"""TOKEN_EXCHANGE definitions and accounts through the real API: each bad field named
(SPEC §2), hostile template values refused, nothing stored on failure."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.servers import Server

GOOD: dict[str, Any] = {
    "display_name": "Exchange Table",
    "proxy_url": "https://{{domain}}/api",
    "proxy_enabled": True,
    "auth_patterns": [
        {
            "type": "TOKEN_EXCHANGE",
            "fields": [
                {"field_name": "domain", "required": True},
                {"field_name": "api_key", "input_type": "password", "required": True},
                {"field_name": "tenant", "is_path_param": True},
            ],
            "token_exchange": {
                "url": "https://{{domain}}/auth/{{tenant}}/token?v=1",
                "method": "POST",
                "body_format": "json",
                "body": {"key": "{{api_key}}", "kind": "service"},
                "headers": {"X-Tenant": "{{tenant}}"},
                "token_path": "data.session.token",
                "expires_in_path": "data.session.ttl",
                "default_ttl_seconds": 900,
                "header_template": "Token {{token}}",
                "header_name": "X-Auth",
            },
        }
    ],
}


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


def block(data: dict[str, Any]) -> dict[str, Any]:
    return data["auth_patterns"][0]["token_exchange"]  # type: ignore[no-any-return]


def pattern(data: dict[str, Any]) -> dict[str, Any]:
    return data["auth_patterns"][0]  # type: ignore[no-any-return]


TE = "auth_patterns[0].token_exchange"
CASES: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("block missing", lambda d: pattern(d).pop("token_exchange"), [TE]),
    ("url missing", lambda d: block(d).pop("url"), [f"{TE}.url"]),
    ("token_path missing", lambda d: block(d).pop("token_path"), [f"{TE}.token_path"]),
    ("ftp url", lambda d: block(d).update(url="ftp://auth.example.com/t"), [f"{TE}.url"]),
    (
        "http url off the allow-list",
        lambda d: block(d).update(url="http://auth.example.com/t"),
        [f"{TE}.url"],
    ),
    ("user info", lambda d: block(d).update(url="https://a@auth.example.com/t"), [f"{TE}.url"]),
    ("fragment", lambda d: block(d).update(url="https://auth.example.com/t#x"), [f"{TE}.url"]),
    (
        "dot segment",
        lambda d: block(d).update(url="https://auth.example.com/a/../t"),
        [f"{TE}.url"],
    ),
    ("port zero", lambda d: block(d).update(url="https://auth.example.com:0/t"), [f"{TE}.url"]),
    ("CR in url", lambda d: block(d).update(url="https://auth.example.com/t\r\n"), [f"{TE}.url"]),
    (
        "unknown url placeholder",
        lambda d: block(d).update(url="https://auth.example.com/{{region}}"),
        [f"{TE}.url"],
    ),
    (
        "placeholder that is only part of a host label",
        lambda d: block(d).update(url="https://api-{{tenant}}.example.com/t"),
        [f"{TE}.url"],
    ),
    ("method GET", lambda d: block(d).update(method="GET"), [f"{TE}.method"]),
    ("body_format xml", lambda d: block(d).update(body_format="xml"), [f"{TE}.body_format"]),
    (
        "CR LF in a body template",
        lambda d: block(d)["body"].update(key="a\r\nb"),
        [f"{TE}.body.key"],
    ),
    (
        "NUL in a header template",
        lambda d: block(d)["headers"].update(x="a\x00"),
        [f"{TE}.headers.x"],
    ),
    (
        "unknown body placeholder",
        lambda d: block(d)["body"].update(key="{{secret}}"),
        [f"{TE}.body.key"],
    ),
    (
        "malformed placeholder",
        lambda d: block(d)["body"].update(key="{{ Bad Name }}"),
        [f"{TE}.body.key"],
    ),
    ("unbalanced braces", lambda d: block(d)["body"].update(key="{{api_key}"), [f"{TE}.body.key"]),
    ("Host header", lambda d: block(d)["headers"].update(Host="x"), [f"{TE}.headers.Host"]),
    (
        "header name with CR",
        lambda d: block(d)["headers"].update({"X\rY": "x"}),
        [f"{TE}.headers.X\rY"],
    ),
    ("header_name Host", lambda d: block(d).update(header_name="Host"), [f"{TE}.header_name"]),
    (
        "header_name Content-Length",
        lambda d: block(d).update(header_name="Content-Length"),
        [f"{TE}.header_name"],
    ),
    ("header_name with LF", lambda d: block(d).update(header_name="X-A\nB"), [f"{TE}.header_name"]),
    (
        "header_template without token",
        lambda d: block(d).update(header_template="Token {{api_key}}"),
        [f"{TE}.header_template"],
    ),
    (
        "header_template with CR",
        lambda d: block(d).update(header_template="Token {{token}}\r\nX: y"),
        [f"{TE}.header_template"],
    ),
    (
        "token_path with spaces",
        lambda d: block(d).update(token_path="data token"),
        [f"{TE}.token_path"],
    ),
    (
        "token_path empty segment",
        lambda d: block(d).update(token_path="data..token"),
        [f"{TE}.token_path"],
    ),
    (
        "expires_in_path same as token_path",
        lambda d: block(d).update(expires_in_path="data.session.token"),
        [f"{TE}.expires_in_path"],
    ),
    (
        "default_ttl_seconds zero",
        lambda d: block(d).update(default_ttl_seconds=0),
        [f"{TE}.default_ttl_seconds"],
    ),
    (
        "default_ttl_seconds string",
        lambda d: block(d).update(default_ttl_seconds="60"),
        [f"{TE}.default_ttl_seconds"],
    ),
    ("unknown key", lambda d: block(d).update(grant="x"), [f"{TE}.grant"]),
    (
        "oauth_config on the pattern",
        lambda d: pattern(d).update(
            oauth_config={
                "authorize_uri": "https://a.example.com",
                "token_uri": "https://a.example.com",
            }
        ),
        ["auth_patterns[0].oauth_config"],
    ),
    (
        "auth_header_key_override on the pattern",
        lambda d: pattern(d).update(auth_header_key_override="X-Key"),
        ["auth_patterns[0].auth_header_key_override"],
    ),
    (
        "a field named token",
        lambda d: pattern(d)["fields"].append({"field_name": "token"}),
        ["auth_patterns[0].fields[3].field_name"],
    ),
    (
        "token_exchange on a BEARER pattern",
        lambda d: pattern(d).update(
            type="BEARER", fields=[{"field_name": "token"}, {"field_name": "domain"}]
        ),
        [TE],
    ),
    (
        "several bad fields at once",
        lambda d: block(d).update(method="PUT", token_path="", header_name="Host"),
        [f"{TE}.method", f"{TE}.token_path", f"{TE}.header_name"],
    ),
]


@pytest.mark.parametrize(("case", "change", "fields"), CASES, ids=[c[0] for c in CASES])
def test_bad_definitions_name_each_field(
    server: Server,
    dev_client: dict[str, str],
    case: str,
    change: Callable[[dict[str, Any]], None],
    fields: list[str],
) -> None:
    body = edit(change)
    body["display_name"] = f"Exchange Bad {abs(hash(case)) % 10**8}"
    with server.api(dev_client) as api:
        response = api.post("/api/v1/custom-providers", json=body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["code"] == 3
        named = {v["field"] for v in error["details"][0]["field_violations"]}
        assert set(fields) <= named, (case, named)
        listed = api.get("/api/v1/providers", params={"identifier": body["display_name"]})
        assert all(p["display_name"] != body["display_name"] for p in listed.json()["providers"])


def test_good_definition_round_trips(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    body = edit(lambda d: d.update(display_name=f"Exchange Good {unique}"))
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=body)
        assert created.status_code == 201, created.text
        stored = created.json()["provider"]["auth_patterns"][0]["token_exchange"]
        assert stored == block(GOOD)
        minimal = edit(lambda d: d.update(display_name=f"Exchange Min {unique}"))
        pattern(minimal)["token_exchange"] = {
            "url": "https://auth.example.com/token",
            "token_path": "token",
        }
        assert api.post("/api/v1/custom-providers", json=minimal).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "evil.com/x"),
        ("domain", "a@evil.com"),
        ("domain", "evil.com#frag"),
        ("domain", "evil.com:8443"),
        ("domain", "a..b"),
        ("domain", "a\r\nb"),
        ("tenant", ".."),
        ("tenant", "a/b"),
        ("tenant", "a#b"),
        ("tenant", "a@b"),
        ("api_key", "k\r\nX-Injected: 1"),
        ("api_key", "k\x00"),
    ],
)
def test_hostile_account_values_refused(
    server: Server, dev_client: dict[str, str], unique: str, field: str, value: str
) -> None:
    suffix = f"{unique}{abs(hash((field, value))) % 10**6}"
    body = edit(lambda d: d.update(display_name=f"Exchange Hostile {suffix}"))
    details = {"domain": "auth.example.com", "api_key": "k", "tenant": "t1", field: value}
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=body)
        assert created.status_code == 201, created.text
        identifier = created.json()["provider"]["identifier"]
        conn = f"xh-{suffix}"
        response = api.post(
            "/api/v1/connections", json={"provider_key": identifier, "key_id": conn}
        )
        assert response.status_code == 201, response.text
        response = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "mal",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": details}}
                },
            },
        )
        assert response.status_code == 400, response.text
        named = {v["field"] for v in response.json()["details"][0]["field_violations"]}
        assert f"connected_account.authorization_details.static_auth.details.{field}" in named
        listed = api.get("/api/v1/connected_accounts", params={"connector": conn}).json()
        assert listed["connected_accounts"] == []
