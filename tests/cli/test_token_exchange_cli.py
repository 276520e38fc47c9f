"""TOKEN_EXCHANGE definitions through the CLI: create, the diff names token_exchange fields,
promote carries the block to another environment, and a proxied `authrelay request`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import Result
from tests.support.exchange_upstream import ExchangeUpstream
from tests.support.profiles import cli as cli_in
from tests.support.servers import Server


def cli(config: Path, *args: str) -> Result:
    return cli_in(config, *args, COLUMNS="200")


def ok(proc: Result) -> Result:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def exchange_upstream() -> Iterator[ExchangeUpstream]:
    server = ExchangeUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def profiles(
    tmp_path: Path, server: Server, dev_client: dict[str, str], prod_client: dict[str, str]
) -> Path:
    config = tmp_path / "config"
    for name, client in (("dev", dev_client), ("production", prod_client)):
        ok(
            cli(
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
        )
    return config


def definition(name: str, up: ExchangeUpstream, token_path: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "proxy_url": f"{up.url}/api",
        "proxy_enabled": True,
        "auth_patterns": [
            {
                "type": "TOKEN_EXCHANGE",
                "fields": [
                    {"field_name": "client_id", "required": True},
                    {"field_name": "client_secret", "input_type": "password", "required": True},
                ],
                "token_exchange": {
                    "url": f"{up.url}/exchange",
                    "body_format": "form",
                    "body": {"client_id": "{{client_id}}", "client_secret": "{{client_secret}}"},
                    "token_path": token_path,
                },
            }
        ],
    }


def test_diff_promote_and_request(
    profiles: Path,
    tmp_path: Path,
    server: Server,
    prod_client: dict[str, str],
    exchange_upstream: ExchangeUpstream,
    unique: str,
) -> None:
    up = exchange_upstream
    up.credentials["cli-app"] = "cli-secret"
    name = f"Cli Exchange {unique}"
    ident = f"cliexchange{unique}"
    first = tmp_path / "first.json"
    first.write_text(json.dumps(definition(name, up, "token")))
    ok(cli(profiles, "providers", "create", str(first), "--profile", "dev"))

    second = tmp_path / "second.json"
    second.write_text(json.dumps(definition(name, up, "data.token")))
    diff = ok(cli(profiles, "providers", "diff", ident, str(second), "--profile", "dev"))
    assert "auth_patterns[TOKEN_EXCHANGE].token_exchange.token_path" in diff.stdout
    assert "data.token" in diff.stdout
    ok(cli(profiles, "providers", "update", ident, str(second), "--profile", "dev", "--yes"))

    promoted = cli(
        profiles, "providers", "promote", ident, "--from", "dev", "--to", "production", "--yes"
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    with server.api(prod_client) as api:
        provider = api.get(f"/api/v1/providers/{ident}").json()["provider"]
    assert provider["auth_patterns"][0]["token_exchange"]["token_path"] == "data.token"

    conn = f"cx-{unique}"
    ok(cli(profiles, "connections", "create", ident, "--name", conn, "--profile", "dev"))
    ok(
        cli(
            profiles,
            "accounts",
            "create",
            "--connection",
            conn,
            "--identifier",
            "zed",
            "--credential",
            "client_id=cli-app",
            "--credential",
            "client_secret=cli-secret",
            "--profile",
            "dev",
        )
    )
    called = ok(
        cli(
            profiles,
            "request",
            "GET",
            "/v1/ping",
            "--connection",
            conn,
            "--identifier",
            "zed",
            "--profile",
            "dev",
        )
    )
    assert '"ok": true' in called.stdout or '"ok":true' in called.stdout, called.stdout
    assert len(up.exchanges) == 1 and up.exchanges[0].fields["client_id"] == "cli-app"
    assert "cli-secret" not in called.stdout + called.stderr
    assert httpx.get(f"{up.url}/api/x").status_code == 401  # the upstream checks the token
