"""A token endpoint that echoes what it received (issue 24, item 3): the client secret (in
the form or inside a Basic header), the account's own client credentials and the refresh
token never come back through authrelay, in any encoding — not in the API's error, not in
`execute_tool`'s, not in the account's details, not in the server log; `[redacted]` stands
in their place."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.echo_upstream import ENCODINGS, EchoUpstream, leaks, strings_of
from tests.support.proxy import proxy_headers
from tests.support.servers import Server

CLIENT_SECRET = 'cs/Echo+Sec=ret "7"&x~1'
ACCOUNT_SECRET = 'as/Echo+Own=key "4"&y~2'
ACCESS_TOKEN = "at/Echo+Access=tok~5"
REFRESH_TOKEN = 'rt/Echo+Refresh=9&"z"'
SECRETS = [CLIENT_SECRET, ACCOUNT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN]


def _seen(response: httpx.Response) -> str:
    return response.text + "\n" + strings_of(response.json())


def _provider(api: httpx.Client, name: str, pattern: dict[str, Any], proxy_url: str) -> str:
    definition = {
        "display_name": name,
        "auth_patterns": [pattern],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    return str(created.json()["provider"]["identifier"])


def _tool(api: httpx.Client, provider: str, name: str, path: str) -> None:
    tool = {
        "provider": provider,
        "definition": {
            "name": name,
            "description": "Fails, echoing its request",
            "input_schema": {"type": "object", "properties": {}},
        },
        "binding": {"method": "GET", "path": path, "params": {}},
    }
    created = api.post("/api/v1/tools", json=tool)
    assert created.status_code == 201, created.text


def _connect(api: httpx.Client, provider: str, conn: str, oauth: dict[str, Any]) -> None:
    body = {"provider_key": provider, "key_id": conn, "oauth_config": oauth}
    response = api.post("/api/v1/connections", json=body)
    assert response.status_code == 201, response.text


def _account(api: httpx.Client, conn: str, who: str, authorization: dict[str, Any]) -> None:
    body = {
        "connector": conn,
        "identifier": who,
        "connected_account": {"authorization_details": authorization},
    }
    response = api.post("/api/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text


def _answers(
    api: httpx.Client, conn: str, who: str, tool: str, *, tool_first: bool = False
) -> list[httpx.Response]:
    """The proxied call's answer, the tool call's (sent first when `tool_first`), and the
    account's details."""

    def proxied() -> httpx.Response:
        return api.get("/proxy/fail/401/plain/x", headers=proxy_headers(conn, who))

    def called() -> httpx.Response:
        call = {"tool_name": tool, "params": {}, "identifier": who, "connector": conn}
        return api.post("/api/v1/execute_tool", json=call)

    first, second = (called(), proxied()) if tool_first else (proxied(), called())
    details = api.get(
        "/api/v1/connected_accounts/details", params={"connector": conn, "identifier": who}
    )
    return [second, first, details] if tool_first else [first, second, details]


def _client_credentials(token_uri: str, method: str, own: bool) -> dict[str, Any]:
    fields = (
        [
            {"field_name": "client_id", "label": "Client ID", "required": True},
            {"field_name": "client_secret", "input_type": "password", "required": True},
        ]
        if own
        else []
    )
    return {
        "type": "OAUTH",
        "fields": fields,
        "oauth_config": {
            "grant_type": "client_credentials",
            "token_uri": token_uri,
            "token_auth_method": method,
        },
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_echoed_by_the_token_endpoint_are_redacted(
    server: Server,
    dev_client: dict[str, str],
    echo: EchoUpstream,
    unique: str,
    encoding: str,
    method: str,
) -> None:
    token_uri = f"{echo.url}/token/{encoding}"
    with server.api(dev_client) as api:
        seen: list[str] = []
        for own in (False, True):  # the connection's client, then the account's own
            provider = _provider(
                api,
                f"Echo CC {'own ' if own else ''}{unique}",
                _client_credentials(token_uri, method, own),
                f"{echo.url}/api",
            )
            conn, tool = f"echo-{'own-' if own else ''}{unique}", f"echo_{own:d}_{unique}"
            _tool(api, provider, tool, f"/fail/400/{encoding}")
            _connect(
                api, provider, conn, {"client_id": "echo client", "client_secret": CLIENT_SECRET}
            )
            details = {"client_id": "echo client", "client_secret": ACCOUNT_SECRET} if own else {}
            _account(api, conn, "mo", {"static_auth": {"details": details}})
            proxied, called, account = _answers(api, conn, "mo", tool, tool_first=own)
            # a refused account's own client expires it: the later call says EXPIRED
            for refused in (called, proxied) if own else (proxied, called):
                assert refused.status_code == 412, refused.text
                message = refused.json()["message"]
                assert "invalid_client" in message and "[redacted]" in message, message
                if own:
                    break
            assert proxied.status_code == called.status_code == 412
            assert account.status_code == 200
            seen += [_seen(r) for r in (proxied, called, account)]
    assert leaks("\n".join(seen), SECRETS) == []
    assert leaks(server.log_text(), SECRETS) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_refresh_token_echoed_by_the_token_endpoint_is_redacted(
    server: Server, dev_client: dict[str, str], echo: EchoUpstream, unique: str, encoding: str
) -> None:
    pattern = {
        "type": "OAUTH",
        "fields": [],
        "oauth_config": {
            "authorize_uri": f"{echo.url}/authorize",
            "token_uri": f"{echo.url}/token/{encoding}",
            "token_auth_method": "client_secret_basic",
        },
    }
    with server.api(dev_client) as api:
        provider = _provider(api, f"Echo Refresh {unique}", pattern, f"{echo.url}/api")
        conn, tool = f"echo-rt-{unique}", f"echo_rt_{unique}"
        _tool(api, provider, tool, f"/fail/401/{encoding}")
        _connect(api, provider, conn, {"client_id": "echo client", "client_secret": CLIENT_SECRET})
        token = {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN}
        _account(api, conn, "rt", {"oauth_token": token})
        proxied, called, account = _answers(api, conn, "rt", tool)
        # the upstream refused the token (401), the refresh failed at the token endpoint
        for failed in (proxied, called):
            assert failed.status_code == 502 and failed.json()["code"] == 14, failed.text
            message = failed.json()["message"]
            assert "refreshing the access token failed" in message and "[redacted]" in message
        assert account.status_code == 200
        seen = "\n".join(_seen(r) for r in (proxied, called, account))
    assert leaks(seen, SECRETS) == []
    assert leaks(server.log_text(), SECRETS) == []
    assert json.dumps(REFRESH_TOKEN)[1:-1] not in seen
