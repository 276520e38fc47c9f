"""Shared pieces of the connection and connected-account tests: provider definitions, and
creating providers, connections and accounts through the real API."""

from __future__ import annotations

from typing import Any

import httpx

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
APP = {"flags.is_app": "true"}


def api_key_provider(name: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "display_name": "API key",
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


def basic_provider(name: str) -> dict[str, Any]:
    """BASIC with a `{{domain}}` host and an optional password."""
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "BASIC",
                "fields": [
                    {"field_name": "domain", "label": "Domain", "input_type": "text",
                     "required": True},
                    {"field_name": "username", "label": "User", "input_type": "text",
                     "required": True},
                    {"field_name": "password", "label": "Password", "input_type": "password"},
                ],
            }
        ],
        "proxy_url": "https://{{domain}}.example.com/api",
        "proxy_enabled": True,
    }  # fmt: skip


def bearer_provider(name: str) -> dict[str, Any]:
    """BEARER with a select field and a path parameter in `proxy_url`."""
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "BEARER",
                "fields": [
                    {"field_name": "token", "label": "Token", "input_type": "password",
                     "required": True},
                    {"field_name": "region", "label": "Region", "input_type": "select",
                     "options": ["us", "eu"], "required": True},
                    {"field_name": "tenant", "label": "Tenant", "input_type": "text",
                     "required": True, "is_path_param": True},
                    {"field_name": "note", "label": "Note", "input_type": "text"},
                ],
            }
        ],
        "proxy_url": "https://api.example.com/{{tenant}}/v2",
        "proxy_enabled": True,
    }  # fmt: skip


def oauth_provider(name: str, *, workspace: bool = False) -> dict[str, Any]:
    """OAuth with two required scopes (`read`, `admin`) and two optional ones; with
    `workspace`, an account field used as a path parameter."""
    pattern: dict[str, Any] = {
        "type": "OAUTH",
        "fields": [],
        "oauth_config": {
            "authorize_uri": "https://auth.example.com/authorize",
            "token_uri": "https://auth.example.com/token",
            "available_scopes": [
                {"scope": "read", "required": True},
                {"scope": "write"},
                {"scope": "admin", "required": True},
                {"scope": "delete"},
            ],
        },
    }
    proxy_url = "https://api.example.com"
    if workspace:
        pattern["account_fields"] = [
            {"field_name": "workspace", "label": "Workspace", "input_type": "text",
             "required": True, "is_path_param": True}
        ]  # fmt: skip
        proxy_url = "https://api.example.com/{{workspace}}"
    return {
        "display_name": name,
        "auth_patterns": [pattern],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def create_provider(api: httpx.Client, definition: dict[str, Any]) -> str:
    response = api.post("/api/v1/custom-providers", json=definition)
    assert response.status_code == 201, response.text
    return str(response.json()["provider"]["identifier"])


def create_connection(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/connections", params=APP, json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"connection"}
    return dict(response.json()["connection"])


def create_account(
    api: httpx.Client,
    connector: str,
    identifier: str,
    authorization: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"connector": connector, "identifier": identifier, **extra}
    if authorization is not None:
        body.setdefault("connected_account", {})["authorization_details"] = authorization
    response = api.post("/api/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"connected_account"}
    return dict(response.json()["connected_account"])


def static(**details: Any) -> dict[str, Any]:
    return {"static_auth": {"details": details}}


def error_of(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """The SPEC §2 error body, checked for shape, HTTP status and google.rpc code."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], list)
    return dict(body)


def violations(response: httpx.Response) -> dict[str, str]:
    """field → description of a 400 INVALID_ARGUMENT answer (every field is named)."""
    body = error_of(response, 400, 3)
    assert len(body["details"]) == 1, body
    detail = body["details"][0]
    assert detail["@type"] == BAD_REQUEST
    out = {}
    for v in detail["field_violations"]:
        assert set(v) == {"field", "description"} and v["description"], v
        out[v["field"]] = v["description"]
        assert v["field"] in body["message"]
    assert out, body
    return out


def audit_text(api: httpx.Client) -> str:
    """The environment's recent audit log, as raw text."""
    response = api.get("/api/v1/audit-logs", params={"page_size": 1000})
    assert response.status_code == 200, response.text
    return response.text
