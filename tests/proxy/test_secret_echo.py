"""A token-exchange endpoint that echoes the account's fields back (issue 24, item 3): the
proxy's answer, `execute_tool`'s and the server log name the endpoint's answer with every
field value blanked out, in any encoding it came back in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.echo_upstream import ENCODINGS, EchoUpstream, leaks, strings_of
from tests.support.proxy import proxy_headers
from tests.support.servers import Server

CLIENT_SECRET = 'tx/Echo+Secret="5"&w~ex'
PASSWORD = "pw/Echo+Exchange=2~ex"
SECRETS = [CLIENT_SECRET, PASSWORD]


def _enable(api: httpx.Client, echo: EchoUpstream, name: str, exchange: dict[str, Any]) -> str:
    """The provider's identifier; its connection `c-<identifier>` has an account "kim"."""
    fields = [
        {"field_name": "client_id", "required": True},
        {"field_name": "client_secret", "input_type": "password", "required": True},
        {"field_name": "password", "input_type": "password", "required": True},
    ]
    block = {
        "body": {
            "client_id": "{{client_id}}",
            "client_secret": "{{client_secret}}",
            "password": "{{password}}",
        },
        "headers": {"X-Client-Auth": "{{client_id}} {{client_secret}}"},
        "token_path": "token",
        **exchange,
    }
    definition = {
        "display_name": name,
        "proxy_url": f"{echo.url}/api",
        "proxy_enabled": True,
        "auth_patterns": [{"type": "TOKEN_EXCHANGE", "fields": fields, "token_exchange": block}],
    }
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    provider = str(created.json()["provider"]["identifier"])
    conn = f"c-{provider}"
    response = api.post("/api/v1/connections", json={"provider_key": provider, "key_id": conn})
    assert response.status_code == 201, response.text
    values = {"client_id": "echo-app", "client_secret": CLIENT_SECRET, "password": PASSWORD}
    account = {
        "connector": conn,
        "identifier": "kim",
        "connected_account": {"authorization_details": {"static_auth": {"details": values}}},
    }
    response = api.post("/api/v1/connected_accounts", json=account)
    assert response.status_code == 201, response.text
    tool = {
        "provider": provider,
        "definition": {
            "name": f"t_{provider}",
            "description": "Any call",
            "input_schema": {"type": "object", "properties": {}},
        },
        "binding": {"method": "GET", "path": "/items", "params": {}},
    }
    assert api.post("/api/v1/tools", json=tool).status_code == 201
    return provider


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fields_echoed_by_a_token_exchange_endpoint_are_redacted(
    server: Server, dev_client: dict[str, str], echo: EchoUpstream, unique: str, encoding: str
) -> None:
    seen = []
    with server.api(dev_client) as api:
        # an exchange that fails (500): the account stays as it is, every call says why
        failing = _enable(
            api,
            echo,
            f"Echo Tx Json {unique}",
            {"url": f"{echo.url}/fail/500/{encoding}/exchange", "body_format": "json"},
        )
        proxied = api.get("/proxy/items", headers=proxy_headers(f"c-{failing}", "kim"))
        called = api.post(
            "/api/v1/execute_tool",
            json={"tool_name": f"t_{failing}", "params": {}, "identifier": "kim"},
        )
        for answer in (proxied, called):
            assert answer.status_code == 502, answer.text
            message = answer.json()["message"]
            assert "answered HTTP 500" in message and "[redacted]" in message, message
        # an exchange that refuses the credentials (403): the account expires
        refusing = _enable(
            api,
            echo,
            f"Echo Tx Form {unique}",
            {"url": f"{echo.url}/fail/403/{encoding}/exchange", "body_format": "form"},
        )
        refused = api.get("/proxy/items", headers=proxy_headers(f"c-{refusing}", "kim"))
        assert refused.status_code == 412, refused.text
        message = refused.json()["message"]
        assert "EXPIRED" in message and "[redacted]" in message, message
        details = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": f"c-{refusing}", "identifier": "kim"},
        )
        assert details.json()["connected_account"]["status"] == "EXPIRED"
        for answer in (proxied, called, refused, details):
            seen += [answer.text, strings_of(answer.json())]
    assert leaks("\n".join(seen), SECRETS) == []
    assert leaks(server.log_text(), SECRETS) == []
