"""`oauth_config.token_params` on the authorization-code grant (SPEC §3a): the filled
parameters reach the real authorization server's token endpoint with the code exchange
and with each refresh; a hostile account value is refused before any request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.oauth_server import OAuthServer, complete_login, start_oauth_server
from tests.support.proxy import proxy_headers
from tests.support.servers import Server

SECRET = "tp-client-secret-0123456789"


@pytest.fixture(scope="module")
def code_as(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    client = {
        "client_id": "tp-app",
        "client_secret": SECRET,
        "redirect_uris": [f"{server.url}/oauth/callback"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    oauth_as = start_oauth_server(tmp_path_factory.mktemp("tp-as"), [client])
    yield oauth_as
    oauth_as.stop()


def test_token_params_in_code_exchange_and_refresh(
    server: Server, dev_client: dict[str, str], code_as: OAuthServer, unique: str
) -> None:
    name = f"Token Params {unique}"
    conn = f"tp-{unique}"
    definition = {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "account_fields": [{"field_name": "workspace", "required": True}],
                "oauth_config": {
                    "authorize_uri": code_as.authorize_url,
                    "token_uri": code_as.token_url,
                    "available_scopes": [{"scope": "read"}],
                    "token_params": {"resource_hint": "ws-{{workspace}}", "flavour": "plain"},
                },
            }
        ],
        "proxy_url": code_as.url,
        "proxy_enabled": True,
    }
    with server.api(dev_client) as api:
        assert api.post("/api/v1/custom-providers", json=definition).status_code == 201
        created = api.post(
            "/api/v1/connections",
            json={
                "provider_key": f"tokenparams{unique}",
                "key_id": conn,
                "oauth_config": {
                    "client_id": "tp-app",
                    "client_secret": SECRET,
                    "scopes": ["read"],
                },
            },
        )
        assert created.status_code == 201, created.text
        # a hostile value for the template is refused when the account is created
        bad = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "mallory",
                "connected_account": {"api_config": {"path_variables": {"workspace": "a@b#c"}}},
            },
        )
        assert bad.status_code == 400, bad.text
        fields = {v["field"] for d in bad.json()["details"] for v in d["field_violations"]}
        assert fields == {"connected_account.api_config.path_variables.workspace"}

        pending = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "kim",
                "connected_account": {"api_config": {"path_variables": {"workspace": "acme"}}},
            },
        )
        assert pending.status_code == 201, pending.text
        link = api.post(
            "/api/v1/connected_accounts/magic_link", json={"connector": conn, "identifier": "kim"}
        ).json()["link"]
        with httpx.Client() as browser:
            redirect = browser.get(link)
        assert redirect.status_code == 303, redirect.text
        assert "resource_hint" not in redirect.headers["location"]  # token requests only
        code_as.reset()
        back = complete_login(redirect.headers["location"], "kim")
        with httpx.Client() as browser:
            assert browser.get(back.headers["location"]).status_code == 200
        sent = code_as.stats()["last_token_params"]
        assert sent["grant_type"] == "authorization_code"
        assert sent["resource_hint"] == "ws-acme" and sent["flavour"] == "plain"

        # a refresh carries them too: an imported dead access token forces one
        issued = api.get(
            "/api/v1/connected_accounts/auth", params={"connector": conn, "identifier": "kim"}
        ).json()["connected_account"]["authorization_details"]["oauth_token"]
        replaced = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "kim",
                "connected_account": {
                    "authorization_details": {
                        "oauth_token": {
                            "access_token": "dead",
                            "refresh_token": issued["refresh_token"],
                        }
                    }
                },
            },
        )
        assert replaced.status_code == 200, replaced.text
        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "kim"))
        assert response.status_code == 200, response.text
        sent = code_as.stats()["last_token_params"]
        assert sent["grant_type"] == "refresh_token"
        assert sent["resource_hint"] == "ws-acme" and sent["flavour"] == "plain"
