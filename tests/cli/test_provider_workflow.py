"""The provider workflow CLI against a real server: profiles, create, update (diff, scope
warnings, confirmation), promote (create, then a three-way diff), delete (refused while a
connection exists; --print-curl run with the real curl), apply and infer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from authrelay.cli.main import app
from tests.support.profiles import cli_wide as cli
from tests.support.profiles import profiles  # noqa: F401 (fixture)
from tests.support.servers import Server

INFER_FIXTURES = Path(__file__).resolve().parents[1] / "providers" / "infer" / "fixtures"


def definition(name: str, scopes: list[str], description: str = "workflow") -> dict[str, Any]:
    return {
        "display_name": name,
        "description": description,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "oauth_config": {
                    "authorize_uri": "https://auth.example.com/authorize",
                    "token_uri": "https://auth.example.com/token",
                    "available_scopes": [{"scope": s, "required": s == "read"} for s in scopes],
                },
            }
        ],
        "proxy_url": "https://api.example.com",
        "proxy_enabled": True,
    }


def _api(server: Server, client: dict[str, str], identifier: str) -> httpx.Response:
    with server.api(client) as api:
        return api.get(f"/api/v1/providers/{identifier}")


def test_workflow(
    profiles: Path,  # noqa: F811
    tmp_path: Path,
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    unique: str,
) -> None:
    name = f"Workflow {unique}"
    ident = f"workflow{unique}"
    first = tmp_path / "provider.json"
    first.write_text(json.dumps(definition(name, ["read", "write", "admin"])))

    created = cli(profiles, "providers", "create", str(first), "--profile", "dev")
    assert created.returncode == 0 and "✅ created" in created.stdout, (
        created.stdout + created.stderr
    )

    # a second create of the same name offers an update; without a terminal nothing changes
    again = cli(profiles, "providers", "create", str(first), "--profile", "dev")
    assert again.returncode in {0, 1} and "already exists" in again.stdout

    # update with a scope removed: the diff, the scope call-out and the warning; no --yes
    smaller = tmp_path / "smaller.json"
    smaller.write_text(json.dumps(definition(name, ["read", "write"])))
    refused = cli(profiles, "providers", "update", name, str(smaller), "--profile", "dev")
    assert refused.returncode == 1
    assert "OAuth scopes removed: admin" in refused.stdout
    assert "connected accounts re-authorized" in refused.stdout
    assert "available_scopes[admin]" in refused.stdout
    scopes = [
        s["scope"]
        for s in _api(server, dev_client, ident).json()["provider"]["auth_patterns"][0][
            "oauth_config"
        ]["available_scopes"]
    ]
    assert scopes == ["read", "write", "admin"]  # nothing changed
    applied = cli(
        profiles, "providers", "update", name, str(smaller), "--profile", "dev", "--yes", "--json"
    )
    assert applied.returncode == 0 and json.loads(applied.stdout)["ok"] is True

    # promote: first a create in production, then a three-way diff and an update
    promoted = cli(
        profiles, "providers", "promote", name, "--from", "dev", "--to", "production", "--yes"
    )
    assert promoted.returncode == 0 and "✅ created" in promoted.stdout, (
        promoted.stdout + promoted.stderr
    )
    assert _api(server, prod_client, ident).status_code == 200
    changed = tmp_path / "changed.json"
    changed.write_text(
        json.dumps(definition(name, ["read", "write", "extra"], description="second"))
    )
    cli(
        profiles,
        "providers",
        "update",
        ident,
        str(changed),
        "--profile",
        "dev",
        "--yes",
        check=True,
    )
    promoted = cli(
        profiles, "providers", "promote", name, "--from", "dev", "--to", "production", "--yes"
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "promote: source → target" in promoted.stdout and "target now" in promoted.stdout
    assert "OAuth scopes added: extra" in promoted.stdout and "✅ updated" in promoted.stdout
    assert _api(server, prod_client, ident).json()["provider"]["description"] == "second"

    # a protected target only gets the curl command unless --execute
    cli(
        profiles,
        "profile",
        "add",
        "prod-locked",
        "--env-url",
        server.url,
        "--client-id",
        prod_client["client_id"],
        "--client-secret",
        prod_client["client_secret"],
        "--protected",
        check=True,
    )
    third = tmp_path / "third.json"  # something to promote (an equal target has nothing)
    third.write_text(json.dumps(definition(name, ["read", "write", "extra"], description="3")))
    cli(profiles, "providers", "update", ident, str(third), "--profile", "dev", "--yes", check=True)
    locked = cli(
        profiles, "providers", "promote", name, "--from", "dev", "--to", "prod-locked", "--yes"
    )
    assert locked.returncode == 0 and "curl" in locked.stdout and "protected" in locked.stdout

    # delete is refused while a connection uses the provider, and says what to do
    with server.api(dev_client) as api:
        conn = api.post(
            "/api/v1/connections", json={"provider_key": ident, "key_id": f"wf-{unique}"}
        ).json()["connection"]
    refused = cli(profiles, "providers", "delete", name, "--profile", "dev", "--yes")
    assert refused.returncode == 1
    assert f"wf-{unique}" in refused.stderr and "first" in refused.stderr
    with server.api(dev_client) as api:
        assert api.delete(f"/api/v1/connections/{conn['id']}").status_code == 200

    # --print-curl prints the resolved command; the real curl binary runs it
    printed = cli(profiles, "providers", "delete", name, "--profile", "dev", "--print-curl")
    assert printed.returncode == 0 and printed.stdout.startswith("curl ")
    assert f"/api/v1/custom-providers/{ident}" in printed.stdout
    ran = subprocess.run(
        ["bash", "-c", printed.stdout.strip() + " --silent --show-error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0 and json.loads(ran.stdout) == {}
    assert _api(server, dev_client, ident).status_code == 404


def test_list_get_usage_and_environment_credentials(
    profiles: Path,  # noqa: F811
    server: Server,
    dev_client: dict[str, str],
) -> None:
    runner = CliRunner()
    env = {"AUTHRELAY_CONFIG_DIR": str(profiles)}
    result = runner.invoke(app, ["providers", "list", "--type", "default", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "github" in {p["identifier"] for p in json.loads(result.output)}
    assert runner.invoke(app, ["providers", "list", "--type", "bogus"], env=env).exit_code == 2
    assert runner.invoke(app, ["providers", "get", "no-such-provider"], env=env).exit_code == 1
    scalekit = {
        "AUTHRELAY_CONFIG_DIR": str(profiles / "empty"),
        "SCALEKIT_ENVIRONMENT_URL": server.url,
        "SCALEKIT_CLIENT_ID": dev_client["client_id"],
        "SCALEKIT_CLIENT_SECRET": dev_client["client_secret"],
    }
    result = runner.invoke(app, ["providers", "list", "--json"], env=scalekit)
    assert result.exit_code == 0, result.output
    nothing = runner.invoke(
        app, ["providers", "list"], env={"AUTHRELAY_CONFIG_DIR": str(profiles / "none")}
    )
    assert nothing.exit_code == 1


def test_apply_folder(
    profiles: Path,  # noqa: F811
    tmp_path: Path,
    server: Server,
    unique: str,
) -> None:
    folder = tmp_path / "providers"
    folder.mkdir()
    for i in range(3):
        (folder / f"p{i}.json").write_text(json.dumps(definition(f"Apply {unique} {i}", ["read"])))
    (folder / "p3.yaml").write_text(
        f"display_name: Apply {unique} 3\nauth_patterns:\n  - type: BEARER\n    fields: [{{field_name: token}}]\nproxy_url: https://api.example.com\nproxy_enabled: true\n"
    )
    plan = cli(profiles, "providers", "apply", str(folder), "--profile", "dev")
    assert plan.returncode == 1 and plan.stdout.count("create") >= 4
    done = cli(profiles, "providers", "apply", str(folder), "--profile", "dev", "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["action"] for r in json.loads(done.stdout)["results"]] == ["create"] * 4
    (folder / "p0.json").write_text(json.dumps(definition(f"Apply {unique} 0", ["read", "write"])))
    (folder / "p1.json").unlink()
    again = cli(profiles, "providers", "apply", str(folder), "--profile", "dev", "--yes", "--json")
    actions = {r["identifier"]: r["action"] for r in json.loads(again.stdout)["results"]}
    assert actions[f"apply{unique}0"] == "update" and f"apply{unique}1" not in actions
    pruned = cli(
        profiles,
        "providers",
        "apply",
        str(folder),
        "--profile",
        "dev",
        "--yes",
        "--prune",
        "--json",
    )
    deleted = [
        r["identifier"] for r in json.loads(pruned.stdout)["results"] if r["action"] == "delete"
    ]
    assert f"apply{unique}1" in deleted


def test_infer(tmp_path: Path) -> None:
    out = tmp_path / "inferred.json"
    result = cli(
        tmp_path,
        "providers",
        "infer",
        "--openapi",
        str(INFER_FIXTURES / "openapi" / "apikey_header_v30.yaml"),
        "--name",
        "Inferred",
        "-o",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (
        data["auth_type"] == "API_KEY"
        and data["evidence"]
        and json.loads(out.read_text()) == data["provider"]
    )
    human = cli(
        tmp_path, "providers", "infer", "--docs", str(INFER_FIXTURES / "docs" / "bearer_curl.md")
    )
    assert human.returncode == 0 and "BEARER" in human.stdout
    nothing = cli(
        tmp_path, "providers", "infer", "--docs", str(INFER_FIXTURES / "docs" / "nothing.html")
    )
    assert nothing.returncode == 1
    assert cli(tmp_path, "providers", "infer").returncode == 2
