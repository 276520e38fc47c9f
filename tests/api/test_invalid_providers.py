"""A table of invalid provider definitions: each gets the SPEC §2 error naming every bad
field, never a 500, and nothing is stored."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.servers import Server

STATIC: dict[str, Any] = {
    "display_name": "Table Static",
    "description": "d",
    "auth_patterns": [
        {
            "type": "API_KEY",
            "display_name": "API Key",
            "description": "key",
            "fields": [
                {
                    "field_name": "api_key",
                    "label": "Key",
                    "input_type": "password",
                    "required": True,
                }
            ],
        }
    ],
    "proxy_url": "https://api.example.com/v1",
    "proxy_enabled": True,
}
OAUTH: dict[str, Any] = {
    "display_name": "Table OAuth",
    "auth_patterns": [
        {
            "type": "OAUTH",
            "fields": [],
            "oauth_config": {
                "authorize_uri": "https://auth.example.com/authorize",
                "token_uri": "https://auth.example.com/token",
                "available_scopes": [{"scope": "read", "required": True}],
            },
        }
    ],
    "proxy_url": "https://api.example.com",
    "proxy_enabled": True,
}


def edit(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    change(data)
    return data


def p0(data: dict[str, Any]) -> dict[str, Any]:
    return data["auth_patterns"][0]  # type: ignore[no-any-return]


# (case id, body: dict or raw bytes, HTTP status, google.rpc code, fields that must be named)
CASES: list[tuple[str, Any, int, int, list[str]]] = [
    (
        "missing display_name",
        edit(STATIC, lambda d: d.pop("display_name")),
        400,
        3,
        ["display_name"],
    ),
    (
        "empty display_name",
        edit(STATIC, lambda d: d.update(display_name="")),
        400,
        3,
        ["display_name"],
    ),
    (
        "display_name too long",
        edit(STATIC, lambda d: d.update(display_name="a" * 201)),
        400,
        3,
        ["display_name"],
    ),
    (
        "display_name punctuation",
        edit(STATIC, lambda d: d.update(display_name="My_API!")),
        400,
        3,
        ["display_name"],
    ),
    (
        "display_name only hyphens",
        edit(STATIC, lambda d: d.update(display_name="---")),
        400,
        3,
        ["display_name"],
    ),
    (
        "display_name not a string",
        edit(STATIC, lambda d: d.update(display_name=42)),
        400,
        3,
        ["display_name"],
    ),
    (
        "description too long",
        edit(STATIC, lambda d: d.update(description="x" * 1001)),
        400,
        3,
        ["description"],
    ),
    (
        "missing auth_patterns",
        edit(STATIC, lambda d: d.pop("auth_patterns")),
        400,
        3,
        ["auth_patterns"],
    ),
    (
        "empty auth_patterns",
        edit(STATIC, lambda d: d.update(auth_patterns=[])),
        400,
        3,
        ["auth_patterns"],
    ),
    (
        "auth_patterns not a list",
        edit(STATIC, lambda d: d.update(auth_patterns={"type": "BASIC"})),
        400,
        3,
        ["auth_patterns"],
    ),
    (
        "unknown auth type",
        edit(STATIC, lambda d: p0(d).update(type="DIGEST")),
        400,
        3,
        ["auth_patterns[0].type"],
    ),
    ("missing proxy_url", edit(STATIC, lambda d: d.pop("proxy_url")), 400, 3, ["proxy_url"]),
    (
        "http proxy_url",
        edit(STATIC, lambda d: d.update(proxy_url="http://api.example.com")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "relative proxy_url",
        edit(STATIC, lambda d: d.update(proxy_url="/v1/api")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "ftp proxy_url",
        edit(STATIC, lambda d: d.update(proxy_url="ftp://api.example.com")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "proxy_url with userinfo",
        edit(STATIC, lambda d: d.update(proxy_url="https://u:p@api.example.com")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "proxy_url with fragment",
        edit(STATIC, lambda d: d.update(proxy_url="https://api.example.com/#x")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "proxy_url with dot segments",
        edit(STATIC, lambda d: d.update(proxy_url="https://api.example.com/a/../b")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "proxy_url with spaces",
        edit(STATIC, lambda d: d.update(proxy_url="https://api.example.com/a b")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "unknown placeholder",
        edit(STATIC, lambda d: d.update(proxy_url="https://{{tenant}}.example.com")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "placeholder not path param",
        edit(
            STATIC,
            lambda d: (
                d.update(proxy_url="https://api.example.com/{{org}}"),
                p0(d)["fields"].append({"field_name": "org"}),
            ),
        ),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "unbalanced placeholder",
        edit(STATIC, lambda d: d.update(proxy_url="https://api.example.com/{{org")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "placeholder bad name",
        edit(STATIC, lambda d: d.update(proxy_url="https://api.example.com/{{Org Id}}")),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "oauth placeholder not in account_fields",
        edit(
            OAUTH,
            lambda d: (
                d.update(proxy_url="https://{{domain}}.example.com"),
                p0(d)["fields"].append({"field_name": "domain"}),
            ),
        ),
        400,
        3,
        ["proxy_url"],
    ),
    (
        "oauth_config on static type",
        edit(STATIC, lambda d: p0(d).update(oauth_config=copy.deepcopy(p0(OAUTH)["oauth_config"]))),
        400,
        3,
        ["auth_patterns[0].oauth_config"],
    ),
    (
        "missing oauth_config",
        edit(OAUTH, lambda d: p0(d).pop("oauth_config")),
        400,
        3,
        ["auth_patterns[0].oauth_config"],
    ),
    (
        "missing token_uri",
        edit(OAUTH, lambda d: p0(d)["oauth_config"].pop("token_uri")),
        400,
        3,
        ["auth_patterns[0].oauth_config.token_uri"],
    ),
    (
        "http token_uri",
        edit(
            OAUTH, lambda d: p0(d)["oauth_config"].update(token_uri="http://auth.example.com/token")
        ),
        400,
        3,
        ["auth_patterns[0].oauth_config.token_uri"],
    ),
    (
        "http user_info_uri",
        edit(
            OAUTH,
            lambda d: p0(d)["oauth_config"].update(user_info_uri="http://auth.example.com/me"),
        ),
        400,
        3,
        ["auth_patterns[0].oauth_config.user_info_uri"],
    ),
    (
        "bad token_auth_method",
        edit(OAUTH, lambda d: p0(d)["oauth_config"].update(token_auth_method="private_key_jwt")),
        400,
        3,
        ["auth_patterns[0].oauth_config.token_auth_method"],
    ),
    (
        "reserved authorization param",
        edit(
            OAUTH,
            lambda d: p0(d)["oauth_config"].update(
                authorization_params={"redirect_uri": "https://evil.example"}
            ),
        ),
        400,
        3,
        ["auth_patterns[0].oauth_config.authorization_params.redirect_uri"],
    ),
    (
        "duplicate scope",
        edit(OAUTH, lambda d: p0(d)["oauth_config"]["available_scopes"].append({"scope": "read"})),
        400,
        3,
        ["auth_patterns[0].oauth_config.available_scopes[1].scope"],
    ),
    (
        "scope with space",
        edit(OAUTH, lambda d: p0(d)["oauth_config"]["available_scopes"].append({"scope": "a b"})),
        400,
        3,
        ["auth_patterns[0].oauth_config.available_scopes[1].scope"],
    ),
    (
        "BASIC without username",
        edit(STATIC, lambda d: p0(d).update(type="BASIC")),
        400,
        3,
        ["auth_patterns[0].fields"],
    ),
    (
        "BEARER without token",
        edit(STATIC, lambda d: p0(d).update(type="BEARER")),
        400,
        3,
        ["auth_patterns[0].fields"],
    ),
    (
        "API_KEY without api_key",
        edit(STATIC, lambda d: p0(d)["fields"][0].update(field_name="key")),
        400,
        3,
        ["auth_patterns[0].fields"],
    ),
    (
        "field_name not snake_case",
        edit(STATIC, lambda d: p0(d)["fields"].append({"field_name": "ApiKey"})),
        400,
        3,
        ["auth_patterns[0].fields[1].field_name"],
    ),
    (
        "duplicate field_name",
        edit(STATIC, lambda d: p0(d)["fields"].append({"field_name": "api_key"})),
        400,
        3,
        ["auth_patterns[0].fields[1].field_name"],
    ),
    (
        "bad input_type",
        edit(STATIC, lambda d: p0(d)["fields"][0].update(input_type="checkbox")),
        400,
        3,
        ["auth_patterns[0].fields[0].input_type"],
    ),
    (
        "select without options",
        edit(
            STATIC,
            lambda d: p0(d)["fields"].append({"field_name": "region", "input_type": "select"}),
        ),
        400,
        3,
        ["auth_patterns[0].fields[1].options"],
    ),
    (
        "required not a bool",
        edit(STATIC, lambda d: p0(d)["fields"][0].update(required="yes")),
        400,
        3,
        ["auth_patterns[0].fields[0].required"],
    ),
    (
        "CR/LF in header override",
        edit(STATIC, lambda d: p0(d).update(auth_header_key_override="X-Key\r\nX-Evil: 1")),
        400,
        3,
        ["auth_patterns[0].auth_header_key_override"],
    ),
    (
        "Host header override",
        edit(STATIC, lambda d: p0(d).update(auth_header_key_override="Host")),
        400,
        3,
        ["auth_patterns[0].auth_header_key_override"],
    ),
    (
        "hop-by-hop header override",
        edit(STATIC, lambda d: p0(d).update(auth_header_key_override="Transfer-Encoding")),
        400,
        3,
        ["auth_patterns[0].auth_header_key_override"],
    ),
    (
        "header override with space",
        edit(STATIC, lambda d: p0(d).update(auth_header_key_override="X Key")),
        400,
        3,
        ["auth_patterns[0].auth_header_key_override"],
    ),
    (
        "mutation on unknown field",
        edit(STATIC, lambda d: p0(d).update(auth_field_mutations={"secret": {"prefix": "x"}})),
        400,
        3,
        ["auth_patterns[0].auth_field_mutations.secret"],
    ),
    (
        "mutation with CR/LF",
        edit(STATIC, lambda d: p0(d).update(auth_field_mutations={"api_key": {"prefix": "a\nb"}})),
        400,
        3,
        ["auth_patterns[0].auth_field_mutations.api_key.prefix"],
    ),
    (
        "mutation for another type",
        edit(STATIC, lambda d: p0(d).update(auth_field_mutations={"password": {"default": "X"}})),
        400,
        3,
        ["auth_patterns[0].auth_field_mutations.password"],
    ),
    (
        "metadata key too short",
        edit(STATIC, lambda d: d.update(metadata={"ab": "v"})),
        400,
        3,
        ["metadata.ab"],
    ),
    (
        "metadata value empty",
        edit(STATIC, lambda d: d.update(metadata={"team": ""})),
        400,
        3,
        ["metadata.team"],
    ),
    (
        "metadata value too long",
        edit(STATIC, lambda d: d.update(metadata={"team": "v" * 257})),
        400,
        3,
        ["metadata.team"],
    ),
    (
        "metadata too many pairs",
        edit(STATIC, lambda d: d.update(metadata={f"key{i:02}": "v" for i in range(21)})),
        400,
        3,
        ["metadata"],
    ),
    (
        "metadata value not string",
        edit(STATIC, lambda d: d.update(metadata={"team": 5})),
        400,
        3,
        ["metadata.team"],
    ),
    (
        "proxy_enabled not bool",
        edit(STATIC, lambda d: d.update(proxy_enabled="true")),
        400,
        3,
        ["proxy_enabled"],
    ),
    (
        "icon_src http",
        edit(STATIC, lambda d: d.update(icon_src="http://cdn.example.com/i.png")),
        400,
        3,
        ["icon_src"],
    ),
    (
        "unknown top-level field",
        edit(STATIC, lambda d: d.update(colour="blue")),
        400,
        3,
        ["colour"],
    ),
    (
        "read-only field in body",
        edit(STATIC, lambda d: d.update(identifier="custom")),
        400,
        3,
        ["identifier"],
    ),
    (
        "unknown pattern field",
        edit(STATIC, lambda d: p0(d).update(secret_sauce=True)),
        400,
        3,
        ["auth_patterns[0].secret_sauce"],
    ),
    (
        "unknown oauth_config field",
        edit(OAUTH, lambda d: p0(d)["oauth_config"].update(client_secret="x")),
        400,
        3,
        ["auth_patterns[0].oauth_config.client_secret"],
    ),
    (
        "several problems at once",
        edit(
            STATIC,
            lambda d: (
                d.update(display_name="", proxy_url="http://x.example", metadata={"a": "b"}),
                p0(d).update(auth_header_key_override="Host"),
            ),
        ),
        400,
        3,
        ["display_name", "proxy_url", "metadata.a", "auth_patterns[0].auth_header_key_override"],
    ),
    ("body is an array", b"[1, 2]", 400, 3, ["body"]),
    ("body is not JSON", b"display_name=x", 400, 3, ["body"]),
    ("body truncated JSON", b'{"display_name": "x",', 400, 3, ["body"]),
    ("body empty", b"", 400, 3, ["body"]),
    ("duplicate JSON keys", b'{"display_name": "A", "display_name": "B"}', 400, 3, ["body"]),
    ("NaN in JSON", b'{"display_name": NaN}', 400, 3, ["body"]),
    ("body not UTF-8", b'{"display_name": "\xff\xfe"}', 400, 3, ["body"]),
    ("deeply nested JSON", b"[" * 100000 + b"]" * 100000, 400, 3, ["body"]),
    ("huge body", b'{"description": "' + b"x" * 2_000_000 + b'"}', 413, 3, ["body"]),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_definition_is_refused(
    server: Server, dev_client: dict[str, str], body: Any, status: int, code: int, fields: list[str]
) -> None:
    with server.api(dev_client) as api:
        before = api.get(
            "/api/v1/providers", params={"filter.provider_type": "CUSTOM", "page_size": 1000}
        ).json()
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = api.post(
            "/api/v1/custom-providers", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == status, response.text
        error = response.json()
        assert error["code"] == code
        named = {v["field"] for d in error["details"] for v in d["field_violations"]}
        assert set(fields) <= named, (named, error["message"])
        for field in fields:
            assert field in error["message"]
        after = api.get(
            "/api/v1/providers", params={"filter.provider_type": "CUSTOM", "page_size": 1000}
        ).json()
        assert after["total_size"] == before["total_size"]


def test_invalid_update_leaves_provider_unchanged(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    good = edit(STATIC, lambda d: d.update(display_name=f"Stable {unique}"))
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=good).json()["provider"]
        for name, body, status, _code, _fields in CASES:
            if name == "missing auth_patterns":
                continue  # an update keeps the stored auth_patterns (test_partial_update.py)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = api.put(f"/api/v1/custom-providers/{created['identifier']}", content=raw)
            assert response.status_code == status, response.text
        current = api.get(f"/api/v1/providers/{created['identifier']}").json()["provider"]
        assert current == created


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x01\x02",
        b"{" * 5000,
        b'"just a string"',
        b"null",
        b"1e999999",
        b'{"auth_patterns": [null, 1, "x", []]}',
    ],
)
def test_garbage_never_causes_500(server: Server, dev_client: dict[str, str], raw: bytes) -> None:
    with server.api(dev_client) as api:
        for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            response = api.post(
                "/api/v1/custom-providers", content=raw, headers={"Content-Type": content_type}
            )
            assert 400 <= response.status_code < 500, response.text
            assert response.json()["code"] == 3


def test_bad_query_parameters(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        for params, field in (
            ({"filter.provider_type": "SOMETIMES"}, "filter.provider_type"),
            ({"page_size": "many"}, "page_size"),
            ({"page_size": "5000"}, "page_size"),
            ({"page_size": "-1"}, "page_size"),
            ({"page_token": "not-a-token"}, "page_token"),
        ):
            response = api.get("/api/v1/providers", params=params)
            assert response.status_code == 400, response.text
            violations = response.json()["details"][0]["field_violations"]
            assert violations[0]["field"] == field


def test_unknown_route_and_method(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        response = api.get("/api/v1/nothing-here")
        assert response.status_code == 404 and response.json()["code"] == 5
        response = api.patch("/api/v1/custom-providers")
        assert response.status_code == 405 and "code" in response.json()
