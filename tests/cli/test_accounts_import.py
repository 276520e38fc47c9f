"""`authrelay accounts import FILE` end to end: the CLI against the real
server, JSON lines and CSV, refused lines reported by number, re-runs leaving existing
accounts alone, and a malformed file sending nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import Result, cli_env, run_authrelay
from tests.support.resources import api_key_provider, create_connection, create_provider
from tests.support.servers import Server, create_client, create_environment

ACCOUNTS = "/api/v1/connected_accounts"


def import_cli(server: Server, client: dict[str, str], config: Path, *args: str) -> Result:
    env = cli_env(
        AUTHRELAY_CONFIG_DIR=str(config),
        SCALEKIT_ENVIRONMENT_URL=server.url,
        SCALEKIT_CLIENT_ID=client["client_id"],
        SCALEKIT_CLIENT_SECRET=client["client_secret"],
    )
    return run_authrelay(["accounts", "import", *args], env)


@pytest.fixture
def onboarding(server: Server, unique: str) -> Iterator[tuple[dict[str, str], httpx.Client]]:
    """An environment of its own with two API-key connections, `crm` and `mail`."""
    env = f"import-{unique}"
    create_environment(server.backend, env)
    client = create_client(server.backend, env)
    with server.api(client) as api:
        key = create_provider(api, api_key_provider(f"Imported {unique}"))
        create_connection(api, {"provider_key": key, "key_id": "crm"})
        create_connection(api, {"provider_key": key, "key_id": "mail"})
        yield client, api


def listed(api: httpx.Client) -> dict[str, dict[str, Any]]:
    body = api.get(ACCOUNTS, params={"page_size": 100}).json()
    assert body["total_size"] == len(body["connected_accounts"])
    return {f"{a['connector']}/{a['identifier']}": a for a in body["connected_accounts"]}


def test_import_json_lines(
    server: Server, onboarding: tuple[dict[str, str], httpx.Client], tmp_path: Path
) -> None:
    client, api = onboarding
    lines: list[Any] = []
    for i in range(30):
        lines.append(
            {
                "connector": "crm" if i % 2 else "mail",
                "identifier": f"user{i}@example.com",
                "user_id": f"u{i}",
                "authorization_details": {"static_auth": {"details": {"api_key": f"sk-{i}"}}},
            }
        )
    lines.insert(5, {"connector": "nosuch", "identifier": "lost@example.com"})
    lines.insert(9, {"connector": "crm", "identifier": "nokey@example.com"})  # no api_key
    path = tmp_path / "people.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")

    first = import_cli(server, client, tmp_path / "cfg", str(path), "--json", "-c", "8")
    assert first.returncode == 1, first.stdout + first.stderr
    summary = json.loads(first.stdout)
    assert (summary["total"], summary["created"], summary["existing"]) == (32, 30, 0)
    assert [(f["line"], f["identifier"]) for f in summary["failed"]] == [
        (6, "lost@example.com"),
        (10, "nokey@example.com"),
    ]
    assert "nosuch" in summary["failed"][0]["error"]
    assert "static_auth.details" in summary["failed"][1]["error"]
    accounts = listed(api)
    assert len(accounts) == 30
    assert accounts["crm/user1@example.com"]["user_id"] == "u1"
    assert accounts["mail/user0@example.com"]["status"] == "ACTIVE"
    auth = api.get(f"{ACCOUNTS}/auth", params={"id": accounts["crm/user7@example.com"]["id"]})
    details = auth.json()["connected_account"]["authorization_details"]["static_auth"]["details"]
    assert details["api_key"] == "sk-7"
    assert "sk-7" not in first.stdout + first.stderr

    again = import_cli(server, client, tmp_path / "cfg", str(path))
    assert again.returncode == 1
    assert "0 created, 30 already existed, 2 failed (of 32)" in again.stdout
    assert "line 6 (nosuch/lost@example.com)" in again.stderr
    assert len(listed(api)) == 30


def test_import_csv(
    server: Server, onboarding: tuple[dict[str, str], httpx.Client], tmp_path: Path
) -> None:
    client, api = onboarding
    path = tmp_path / "people.csv"
    path.write_text(
        "connector,identifier,organization_id,user_id,api_key\n"
        "crm,ada@example.com,org_1,u1,sk-ada\n"
        'mail,"bob, jr@example.com",,u2,sk-bob\n'
    )
    done = import_cli(server, client, tmp_path / "cfg", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 created, 0 already existed, 0 failed (of 2)" in done.stdout
    accounts = listed(api)
    assert set(accounts) == {"crm/ada@example.com", "mail/bob, jr@example.com"}
    assert accounts["crm/ada@example.com"]["organization_id"] == "org_1"
    assert "organization_id" not in accounts["mail/bob, jr@example.com"]
    auth = api.get(f"{ACCOUNTS}/auth", params={"id": accounts["crm/ada@example.com"]["id"]})
    assert "sk-ada" in auth.text


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.jsonl", '{"connector": "crm", "identifier": "a"}\n\n{nope\n', "line 3: not JSON"),
        ("bad.jsonl", '{"connector": "crm"}\n', "line 1: identifier is required"),
        ("bad.jsonl", '{"connector": "crm", "identifier": "a", "x": 1}\n', "unknown field(s) x"),
        ("bad.jsonl", '{"connector": "crm", "identifier": 5}\n', "identifier must be a string"),
        ("bad.csv", "connector,name\ncrm,a\n", "the header lacks identifier"),
        ("bad.csv", "connector,identifier\ncrm,a\ncrm,b,extra\n", "line 3: more cells"),
    ],
)
def test_malformed_file_sends_nothing(
    server: Server,
    onboarding: tuple[dict[str, str], httpx.Client],
    tmp_path: Path,
    name: str,
    text: str,
    message: str,
) -> None:
    client, api = onboarding
    path = tmp_path / name
    path.write_text(text)
    done = import_cli(server, client, tmp_path / "cfg", str(path))
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert listed(api) == {}
