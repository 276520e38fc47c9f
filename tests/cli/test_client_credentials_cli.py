"""Client credentials through the SDK and the CLI: the SDK creates the provider, the
connection and the account and makes the proxied call (the token comes from a real
oidc-provider); `providers diff` shows grant_type and token_params, `promote` carries them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import authrelay_client
from tests.support.oauth_server import OAuthServer, start_oauth_server
from tests.support.profiles import cli
from tests.support.servers import Server

SECRET = "cli-cc-secret-PLANTED-0c4e"


@pytest.fixture(scope="module")
def machine_as(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    client = {
        "client_id": "cli-machine",
        "client_secret": SECRET,
        "grant_types": ["client_credentials"],
        "redirect_uris": [],
        "response_types": [],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "read",
    }
    server = start_oauth_server(tmp_path_factory.mktemp("cli-cc-as"), [client])
    yield server
    server.stop()


def _definition(name: str, oauth_as: OAuthServer, **oauth: Any) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "oauth_config": {
                    "grant_type": "client_credentials",
                    "token_uri": oauth_as.token_url,
                    "available_scopes": [{"scope": "read"}],
                    **oauth,
                },
            }
        ],
        "proxy_url": oauth_as.url,
        "proxy_enabled": True,
    }


def _profiles(tmp_path: Path, server: Server, clients: dict[str, dict[str, str]]) -> Path:
    config = tmp_path / "config"
    for name, client in clients.items():
        proc = cli(
            config,
            "profile",
            "add",
            name,
            "--env-url",
            server.url,
            "--client-id",
            client["client_id"],
            "--client-secret",
            client["client_secret"],
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return config


def test_sdk_end_to_end_and_cli_diff_and_promote(
    tmp_path: Path,
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    machine_as: OAuthServer,
    unique: str,
) -> None:
    name = f"Cli Machine {unique}"
    ident = f"climachine{unique}"
    conn = f"clicc-{unique}"
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as sdk:
        provider = sdk.providers.create(_definition(name, machine_as))
        oauth = provider.auth_patterns[0]["oauth_config"]
        assert oauth["grant_type"] == "client_credentials"
        sdk.connections.create(
            ident,
            conn,
            oauth_config={"client_id": "cli-machine", "client_secret": SECRET, "scopes": ["read"]},
        )
        account = sdk.actions.get_or_create_connected_account(
            conn, "svc", {"static_auth": {"details": {}}}
        )
        assert account.status == "ACTIVE"
        response = sdk.actions.request(conn, "svc", "/api/whoami")
        assert response.status_code == 200, response.text
        assert response.json()["client_id"] == "cli-machine"
        assert response.json()["scope"] == "read"

    profiles = _profiles(tmp_path, server, {"dev": dev_client, "production": prod_client})
    changed = tmp_path / "changed.json"
    changed.write_text(
        json.dumps(
            _definition(
                name,
                machine_as,
                token_params={"audience": "fleet"},
                token_auth_method=("client_secret_basic"),
            )
        )
    )
    diff = cli(profiles, "providers", "diff", name, str(changed), "--profile", "dev", "--json")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    paths = {c["path"]: c for c in json.loads(diff.stdout)["changes"]}
    token_params = [p for p in paths if "token_params" in p]
    assert token_params and paths[token_params[0]]["proposed"] in ({"audience": "fleet"}, "fleet")
    assert any(p.endswith("token_auth_method") for p in paths)
    shown = cli(profiles, "providers", "diff", name, str(changed), "--profile", "dev")
    assert "token_params" in shown.stdout

    promoted = cli(
        profiles, "providers", "promote", name, "--from", "dev", "--to", "production", "--yes"
    )
    assert promoted.returncode == 0 and "✅ created" in promoted.stdout, (
        promoted.stdout + promoted.stderr
    )
    with authrelay_client.Client(
        server.url, prod_client["client_id"], prod_client["client_secret"]
    ) as prod:
        copied = prod.providers.get(ident).auth_patterns[0]["oauth_config"]
    assert copied["grant_type"] == "client_credentials"
    assert copied["token_uri"] == machine_as.token_url
