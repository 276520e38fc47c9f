"""`authrelay connections …`, `authrelay accounts …` and `authrelay request` against a real
server and a real upstream, with a profile made by `env create-client --save-profile`.

Most commands run through the entry point in this process (`InProcess`, much faster); the
ones that depend on being a process of their own (standard input, raw output, a browser
named by $BROWSER) run as real `authrelay` processes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.support.profiles import InProcess, cli, ok, one_error
from tests.support.servers import Server, run_cli
from tests.support.upstream import RecordingUpstream, provider_definition


def test_connections_accounts_and_requests(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    tmp_path: Path,
    unique: str,
) -> None:
    config = tmp_path / "config"
    run = InProcess(config)
    saved = run_cli(
        server.backend, "env", "create-client", "dev", "--save-profile", "dev", "--json",
        AUTHRELAY_CONFIG_DIR=str(config),
    )  # fmt: skip
    assert json.loads(saved.stdout)["environment_url"] == server.url  # the URL it serves
    assert "client_secret" not in saved.stdout
    provider = f"rt{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(f"RT {unique}", upstream, auth_header_key_override="X-Key")
        assert api.post("/api/v1/custom-providers", json=definition).status_code == 201
    name = f"rt-{unique}"

    created = json.loads(
        ok(run("connections", "create", provider, "--name", name, "--json")).stdout
    )
    assert created["ok"] and created["connection"]["key_id"] == name
    assert created["connection"]["type"] == "API_KEY"
    table = ok(run("connections", "list", "--provider", provider)).stdout
    assert name in table and "API_KEY" in table and "1 connection(s)" in table
    got = json.loads(ok(run("connections", "get", name)).stdout)
    assert got["provider_key"] == provider and got["enabled"] is True

    # An account with its key read from standard input (never on the command line).
    alice = f"alice-{unique}@example.com"
    made = cli(
        config, "accounts", "create", "--connection", name, "--identifier", alice,
        "--credential", "api_key", stdin="key-from-stdin\n",
    )  # fmt: skip
    assert "created connected account" in ok(made).stdout
    assert "→ target: profile dev (" + server.url + ")" in made.stderr
    listed = json.loads(ok(run("accounts", "list", "--connection", name, "--json")).stdout)
    assert [(a["identifier"], a["status"]) for a in listed] == [(alice, "ACTIVE")]
    shown = json.loads(
        ok(run("accounts", "get", "--connection", name, "--identifier", alice)).stdout
    )
    assert shown["status"] == "ACTIVE" and "key-from-stdin" not in json.dumps(shown)

    # A proxied call: raw body out (no terminal), the key injected, headers and data passed.
    path = f"/v1/items-{unique}"
    call = ok(
        cli(
            config, "request", "POST", path, "--connection", name, "--identifier", alice,
            "-H", "X-Trace: 7", "--data", '{"a": 1}', "-q", "page=2",
        )
    )  # fmt: skip
    answer = json.loads(call.stdout)
    assert answer["method"] == "POST" and answer["path"] == f"/api{path}?page=2"
    seen = [r for r in upstream.requests if r.raw_path.startswith(f"/api{path}")][-1]
    assert seen.header("X-Key") == "key-from-stdin" and seen.header("X-Trace") == "7"
    assert seen.body == b'{"a": 1}' and seen.header("Content-Type") == "application/json"
    # An upstream 4xx: its body still printed, exit 1.
    failed = run("request", "GET", "/status/404", "--connection", name, "--identifier", alice)
    assert failed.returncode == 1 and json.loads(failed.stdout) == {"upstream_error": True}
    assert "HTTP 404" in failed.stderr and "Traceback" not in failed.stderr
    as_json = json.loads(
        run(
            "request", "GET", "/status/409", "--connection", name,
            "--identifier", alice, "--json",
        ).stdout
    )  # fmt: skip
    assert as_json["ok"] is False and as_json["status"] == 409
    assert as_json["body"] == {"upstream_error": True}

    # Update the key; the next call carries the new one.
    ok(
        run(
            "accounts", "update", "--connection", name, "--identifier", alice,
            "--credential", "api_key=second-key",
        )
    )  # fmt: skip
    ok(run("request", "GET", f"{path}/2", "--connection", name, "--identifier", alice))
    seen = [r for r in upstream.requests if r.raw_path == f"/api{path}/2"][-1]
    assert seen.header("X-Key") == "second-key"

    # Disabled: authrelay itself refuses, in one line; enabled again, calls work.
    assert "disabled" in ok(run("connections", "disable", name)).stdout
    refused = run("request", "GET", path, "--connection", name, "--identifier", alice)
    assert "disabled" in one_error(refused).lower()
    ok(run("connections", "enable", name))
    ok(run("request", "GET", path, "--connection", name, "--identifier", alice))

    # A magic link for bob, printed and opened in a "browser" (a script that records it).
    bob = f"bob-{unique}@example.com"
    browser = tmp_path / "browser"
    opened = tmp_path / "opened.txt"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    link = cli(
        config, "accounts", "link", "--connection", name, "--identifier", bob, "--open",
        BROWSER=str(browser),
    )  # fmt: skip
    url = ok(link).stdout.strip()
    assert url.startswith(f"{server.url}/connect/") and "works once, until" in link.stderr
    assert opened.read_text().strip() == url
    page = httpx.get(url)
    assert page.status_code == 200 and 'name="api_key"' in page.text
    linked = json.loads(
        ok(run("accounts", "link", "-c", name, "--identifier", bob, "--json")).stdout
    )
    assert linked["link"].startswith(f"{server.url}/connect/") and linked["expiry"]

    # Deleting: an account, then the connection (refused while it has accounts).
    ok(run("accounts", "delete", "--connection", name, "--identifier", bob, "--yes"))
    not_confirmed = run("accounts", "delete", "-c", name, "--identifier", alice)
    assert "not confirmed" in one_error(not_confirmed)
    in_use = run("connections", "delete", name, "--yes")
    assert one_error(in_use)
    ok(run("connections", "delete", name, "--force", "--yes"))
    gone = run("connections", "get", name, "--json")
    assert gone.returncode == 1 and json.loads(gone.stdout)["ok"] is False
