"""`authrelay accounts link --api-config` (through the SDK) for a provider whose OAuth URLs
hold a host-label placeholder, and the value checks it gets from the server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.profiles import cli, ok, one_error
from tests.support.servers import Server, run_cli


def test_link_with_api_config(
    server: Server, dev_client: dict[str, str], tmp_path: Path, unique: str
) -> None:
    config = tmp_path / "config"
    run_cli(
        server.backend, "env", "create-client", "dev", "--save-profile", "dev", "--json",
        AUTHRELAY_CONFIG_DIR=str(config),
    )  # fmt: skip
    name = f"hlcli-{unique}"
    definition = {
        "display_name": f"HL Cli {unique}",
        "auth_patterns": [
            {
                "type": "OAUTH",
                "account_fields": [{"field_name": "subdomain", "required": True}],
                "oauth_config": {
                    "authorize_uri": "https://{{subdomain}}.zendesk.com/oauth/authorizations/new",
                    "token_uri": "https://{{subdomain}}.zendesk.com/oauth/tokens",
                },
            }
        ],
        "proxy_url": "https://{{subdomain}}.zendesk.com/api/v2",
        "proxy_enabled": True,
    }
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition)
        assert created.status_code == 201, created.text
        body = {
            "provider_key": created.json()["provider"]["identifier"],
            "key_id": name,
            "oauth_config": {"client_id": "cid", "client_secret": "cs-secret", "scopes": ["read"]},
        }
        assert api.post("/api/v1/connections", json=body).status_code == 201

    made = ok(
        cli(
            config, "accounts", "link", "--connection", name, "--identifier", "alice",
            "--api-config", "subdomain=acme", "--json",
        )
    )  # fmt: skip
    link = json.loads(made.stdout)["link"]
    with httpx.Client() as browser:
        response = browser.get(link)
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.hostname) == ("https", "acme.zendesk.com")
    assert location.path == "/oauth/authorizations/new"

    refused = cli(
        config, "accounts", "link", "--connection", name, "--identifier", "bob",
        "--api-config", "subdomain=acme.evil.com",
    )  # fmt: skip
    assert "api_config.subdomain" in one_error(refused)
