"""Local admin commands find the server's database and never make one; the URL printed is
the one served; profiles take secrets from standard input, --profile wins over the
environment and `profile list` says what is in effect; --version and --help; the SDK's
link expiry is a datetime; docs stand on their own."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import typer.main

import authrelay
import authrelay_client
from authrelay.cli.main import app
from tests.support.cli import cli_env, command_paths, run_authrelay
from tests.support.profiles import InProcess, cli, ok, one_error
from tests.support.servers import Server, free_port, run_cli

ROOT = Path(__file__).resolve().parents[2]
LOCAL = [
    ["env", "list"],
    ["env", "create", "extra"],
    ["env", "create-client", "dev"],
    ["env", "list-clients", "dev"],
    ["env", "delete-client", "arc_nope"],
    ["keys", "rotate"],
]


def test_local_commands_never_create_a_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(xdg)}
    default = xdg / "authrelay"
    for args in LOCAL:
        # No AUTHRELAY_DATA_DIR: the one default location, whatever the working folder.
        proc = cli(tmp_path / "config", *args, **env)
        line = one_error(proc)
        assert f"no authrelay database at {default / 'authrelay.db'}" in line, line
    assert not default.exists() and not (Path.cwd() / "data" / "authrelay.db").exists()
    explicit = tmp_path / "explicit"
    proc = cli(tmp_path / "config", "env", "list", AUTHRELAY_DATA_DIR=str(explicit), **env)
    assert str(explicit / "authrelay.db") in one_error(proc) and not explicit.exists()
    # `db upgrade` makes one; then the same commands use it, and no server runs there.
    upgraded = cli(tmp_path / "config", "db", "upgrade", **env)
    assert ok(upgraded) and (default / "authrelay.db").is_file()
    made = json.loads(
        ok(cli(tmp_path / "config", "env", "create-client", "dev", "--json", **env)).stdout
    )
    assert made["environment_url"] is None  # no server: no guessed URL
    listed = ok(cli(tmp_path / "config", "env", "list", **env))
    assert "(server not running)" in listed.stdout
    assert f"database: SQLite {default / 'authrelay.db'}" in listed.stderr


def test_printed_url_is_the_served_one(server: Server) -> None:
    assert server.port != 8080
    listed = run_cli(server.backend, "env", "list", "--json")
    urls = {e["name"]: e["environment_url"] for e in json.loads(listed.stdout)}
    assert urls["dev"] == server.url and urls["production"] == server.url
    if server.backend.database_url is None:
        assert f"database: SQLite {server.backend.data_dir.resolve()}" in listed.stderr
    else:
        assert "database: PostgreSQL" in listed.stderr
        assert (server.backend.database_url.split("@")[0].split(":")[-1]) not in listed.stderr
    made = json.loads(run_cli(server.backend, "env", "create-client", "dev", "--json").stdout)
    assert made["environment_url"] == server.url
    status = json.loads(run_cli(server.backend, "status", "--json").stdout)
    assert status == {"ok": True, "url": server.url, "data_dir": str(server.backend.data_dir)}


def test_profiles_secrets_and_precedence(
    server: Server,
    dev_client: dict[str, str],
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    run = InProcess(config)
    # The secret from standard input: not an argument, stored 0600.
    added = cli(
        config, "profile", "add", "dev", "--env-url", server.url,
        "--client-id", dev_client["client_id"], stdin=dev_client["client_secret"] + "\n",
    )  # fmt: skip
    assert "saved" in ok(added).stdout
    secret_file = config / "secrets" / "dev"
    assert secret_file.read_text() == dev_client["client_secret"]
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    empty = run("profile", "add", "x", "--env-url", server.url, "--client-id", "a")
    assert empty.returncode != 0 and "Traceback" not in empty.stderr
    by_env = run(
        "profile", "add", "envsecret", "--env-url", server.url, "--client-id",
        dev_client["client_id"], "--client-secret-env", "MY_SECRET",
    )  # fmt: skip
    ok(by_env)
    ok(run("providers", "list", "--profile", "envsecret",
           MY_SECRET=dev_client["client_secret"]))  # fmt: skip

    down = f"http://127.0.0.1:{free_port()}"
    variables = {
        "AUTHRELAY_ENVIRONMENT_URL": down,
        "AUTHRELAY_CLIENT_ID": "arc_x",
        "AUTHRELAY_CLIENT_SECRET": "ars_x",
    }
    # Variables win over the current profile, and `profile list` says so …
    assert "cannot reach" in one_error(run("providers", "list", **variables))
    state = json.loads(ok(run("profile", "list", "--json", **variables)).stdout)
    assert state["in_effect"] == "environment" and state["environment"]["env_url"] == down
    table = ok(run("profile", "list", **variables)).stdout
    assert "in effect: the AUTHRELAY_* environment variables" in table
    # … but an explicit --profile wins over them.
    ok(run("providers", "list", "--profile", "dev", **variables))
    quiet = json.loads(ok(run("profile", "list", "--json")).stdout)
    assert quiet["in_effect"] == "profile:dev" and quiet["environment"] is None
    assert "* in effect: profile dev" in ok(run("profile", "list")).stdout


def test_version_and_help(tmp_path: Path) -> None:
    # The real command (`python -m authrelay`): the rest of the CLI tests run its entry
    # point in the test process (tests/support/cli.py).
    env = cli_env()
    real = run_authrelay(["--version"], env, process=True)
    assert real.returncode == 0 and real.stdout == f"authrelay {authrelay.__version__}\n"
    missing = run_authrelay(
        ["env", "list"], {**env, "AUTHRELAY_DATA_DIR": str(tmp_path / "none")}, process=True
    )
    assert missing.returncode == 1 and "no authrelay database at" in one_error(missing)
    run = InProcess(tmp_path)
    assert run("--version").stdout.strip() == f"authrelay {authrelay.__version__}"
    group = typer.main.get_command(app)
    providers_help = run("providers", "--help").stdout
    names = group.commands["providers"].commands  # type: ignore[attr-defined]
    summary = providers_help.split("Usage:", 1)[1].split("Options", 1)[0]
    for name in names:
        assert name in summary, name  # the group's own line names every subcommand
    for path in ["authrelay", *command_paths(group)]:
        words = path.split()[1:]
        shown = run(*words, "--help")
        assert shown.returncode == 0 and "<bool>" not in shown.stdout, path
    assert "--json" in run("connections", "list", "--help").stdout


def test_link_expiry_is_a_datetime(server: Server, dev_client: dict[str, str], unique: str) -> None:
    definition = {
        "display_name": f"Expiry {unique}",
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token"}]}],
        "proxy_url": "https://api.example.com",
    }
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as c:
        c.providers.create(definition)
        c.connections.create(f"expiry{unique}", f"expiry-{unique}")
        link = c.actions.get_authorization_link(f"expiry-{unique}", "ann@example.com")
    assert isinstance(link.expiry, datetime) and link.expiry.tzinfo is not None
    assert link["expiry"] == link.expiry


def test_docs_stand_on_their_own() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert not re.search(r"SPEC\s*§|§\s*\d", doc.read_text()), doc.name
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "authrelay.log" in ignored
