"""A tool upstream that echoes the request it got in its error body (issue 24, item 3): the
account's credentials (API key in a header or in the query, Basic username and password,
a bearer token, a token-exchange token and the fields it was exchanged for) never reach
the `execute_tool` caller, and so a model, in any encoding; `[redacted]` stands in their
place. The server log holds none of them either."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.echo_upstream import ENCODINGS, EchoUpstream, leaks, strings_of
from tests.support.servers import Server

API_KEY = 'ak/Echo+Key="3"&q~tool'
USERNAME = "echo-user@example.com"
PASSWORD = 'pw/Echo+Pass="6"&r'
TOKEN = "tk/Echo+Bearer=8~tool"
SECRETS = [API_KEY, USERNAME, PASSWORD, TOKEN]

SecretField = {"input_type": "password", "required": True}

PATTERNS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "api key header": (
        {
            "type": "API_KEY",
            "fields": [{"field_name": "api_key", **SecretField}],
            "auth_header_key_override": "X-Api-Key",
        },
        {"api_key": API_KEY},
    ),
    "api key in the query": (
        {
            "type": "API_KEY",
            "fields": [{"field_name": "api_key", **SecretField}],
            "auth_query_param": "key",
        },
        {"api_key": API_KEY},
    ),
    "basic": (
        {
            "type": "BASIC",
            "fields": [
                {"field_name": "username", "required": True},
                {"field_name": "password", **SecretField},
            ],
        },
        {"username": USERNAME, "password": PASSWORD},
    ),
    "bearer with a custom field": (
        {
            "type": "BEARER",
            "fields": [
                {"field_name": "token", **SecretField},
                {"field_name": "signing_key", **SecretField},
            ],
            "proxy_headers": {"X-Signing-Key": "k={{signing_key}}"},
        },
        {"token": TOKEN, "signing_key": API_KEY},
    ),
}


def _enable(
    api: httpx.Client, echo: EchoUpstream, name: str, pattern: dict[str, Any], values: Any
) -> str:
    """The provider's identifier, on a connection with an account for "eve"."""
    definition = {
        "display_name": name,
        "auth_patterns": [pattern],
        "proxy_url": f"{echo.url}/api",
        "proxy_enabled": True,
    }
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    provider = str(created.json()["provider"]["identifier"])
    conn = f"c-{provider}"
    response = api.post("/api/v1/connections", json={"provider_key": provider, "key_id": conn})
    assert response.status_code == 201, response.text
    account = {
        "connector": conn,
        "identifier": "eve",
        "connected_account": {"authorization_details": {"static_auth": {"details": values}}},
    }
    response = api.post("/api/v1/connected_accounts", json=account)
    assert response.status_code == 201, response.text
    return provider


@pytest.mark.parametrize("kind", PATTERNS)
def test_credentials_echoed_in_a_tool_error_body_are_redacted(
    server: Server, dev_client: dict[str, str], echo: EchoUpstream, unique: str, kind: str
) -> None:
    pattern, values = PATTERNS[kind]
    seen = []
    with server.api(dev_client) as api:
        provider = _enable(api, echo, f"Echo Tool {len(kind)} {unique}", pattern, values)
        for encoding in ENCODINGS:
            for status in (400, 500):
                name = f"echo_{encoding}_{status}_{unique}"
                tool = {
                    "provider": provider,
                    "definition": {
                        "name": name,
                        "description": "Fails, echoing its request",
                        "input_schema": {"type": "object", "properties": {}},
                    },
                    "binding": {
                        "method": "POST",
                        "path": f"/fail/{status}/{encoding}",
                        "params": {},
                    },
                }
                assert api.post("/api/v1/tools", json=tool).status_code == 201
                call = {"tool_name": name, "params": {}, "identifier": "eve"}
                answer = api.post("/api/v1/execute_tool", json=call)
                assert answer.status_code == (400 if status == 400 else 502), answer.text
                [detail] = answer.json()["details"]
                assert detail["source"] == "upstream" and detail["status"] == status
                assert "[redacted]" in detail["body"]["got"], (encoding, detail)
                seen += [answer.text, strings_of(answer.json())]
    assert leaks("\n".join(seen), SECRETS) == []
    assert leaks(server.log_text(), SECRETS) == []
