"""Every remote command, under every way of not reaching a working server, prints one
error line (or one JSON object with --json), exits non-zero and shows no traceback; the
SDK raises only its own errors for the same failures. All of it happens on the client side
(the server is only a target), so it runs on one backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import authrelay_client
from authrelay.cli.main import main
from tests.conftest import ONE_BACKEND
from tests.support.servers import Server, free_port

PROVIDER = {
    "display_name": "Errors Test",
    "auth_patterns": [{"type": "BEARER", "fields": []}],
    "proxy_url": "https://api.example.com",
}


def commands(file: Path, folder: Path) -> list[list[str]]:
    f, d = str(file), str(folder)
    account = ["--connection", "c1", "--identifier", "u@example.com"]
    return [
        ["providers", "list", "--profile", "t"],
        ["providers", "get", "x", "--profile", "t"],
        ["providers", "diff", "x", f, "--profile", "t"],
        ["providers", "create", f, "--profile", "t", "--yes"],
        ["providers", "update", "x", f, "--profile", "t", "--yes"],
        ["providers", "delete", "x", "--profile", "t", "--yes"],
        ["providers", "promote", "x", "--from", "t", "--to", "t", "--yes"],
        ["providers", "apply", d, "--profile", "t", "--yes"],
        ["connections", "list", "--profile", "t"],
        ["connections", "get", "c1", "--profile", "t"],
        ["connections", "create", "p1", "--profile", "t"],
        ["connections", "update", "c1", "--scopes", "a", "--profile", "t"],
        ["connections", "enable", "c1", "--profile", "t"],
        ["connections", "disable", "c1", "--profile", "t"],
        ["connections", "delete", "c1", "--profile", "t", "--yes"],
        ["accounts", "list", "--profile", "t"],
        ["accounts", "get", *account, "--profile", "t"],
        ["accounts", "create", *account, "--credential", "api_key=k", "--profile", "t"],
        ["accounts", "update", *account, "--credential", "api_key=k", "--profile", "t"],
        ["accounts", "delete", *account, "--profile", "t", "--yes"],
        ["accounts", "link", *account, "--profile", "t"],
        ["request", "GET", "/x", *account, "--profile", "t"],
    ]


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (for timeouts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


#: condition → the start of the error each command must give under it
EXPECTED = {
    "server down": "cannot reach",
    "wrong URL": "HTTP 404",
    "no scheme": "must start with http:// or https://",
    "TLS failure": "TLS failure",
    "timeout": "no answer in time",
    "bad credentials": "invalid_client",
}


@pytest.fixture
def conditions(
    server: Server, dev_client: dict[str, str], silent_port: int
) -> dict[str, tuple[str, str]]:
    """Condition → (environment URL, client secret)."""
    good = dev_client["client_secret"]
    return {
        "server down": (f"http://127.0.0.1:{free_port()}", good),
        "wrong URL": (f"{server.url}/not-authrelay", good),
        "no scheme": (f"127.0.0.1:{server.port}", good),
        "TLS failure": (f"https://127.0.0.1:{server.port}", good),
        "timeout": (f"http://127.0.0.1:{silent_port}", good),
        "bad credentials": (server.url, "ars_wrong"),
    }


def write_profile(config: Path, url: str, client_id: str, secret: str) -> None:
    """Written directly: `profile add` itself refuses a URL without a scheme."""
    (config / "secrets").mkdir(parents=True, exist_ok=True)
    profile = {"name": "t", "env_url": url, "client_id": client_id, "protected": False}
    data = {"current": "t", "profiles": {"t": {**profile, "secret_env": None}}}
    (config / "profiles.json").write_text(json.dumps(data))
    (config / "secrets" / "t").write_text(secret)


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    sys.argv = ["authrelay", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@ONE_BACKEND
@pytest.mark.parametrize("condition", list(EXPECTED))
def test_every_command_fails_in_one_line(
    condition: str,
    conditions: dict[str, tuple[str, str]],
    dev_client: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith(("AUTHRELAY_", "SCALEKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "argv", sys.argv)
    file = tmp_path / "provider.json"
    file.write_text(json.dumps(PROVIDER))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "p.json").write_text(json.dumps(PROVIDER))
    url, secret = conditions[condition]
    config = tmp_path / "config"
    write_profile(config, url, dev_client["client_id"], secret)
    monkeypatch.setenv("AUTHRELAY_CONFIG_DIR", str(config))
    # Short only where no answer is the point: a loaded machine may take longer than that
    # to answer the other conditions.
    monkeypatch.setenv("AUTHRELAY_CLIENT_TIMEOUT", "0.2" if condition == "timeout" else "30")
    for command in commands(file, folder):
        where = f"{condition}: authrelay {' '.join(command)}"
        code, out, err = run_main(command, capsys)
        assert code != 0, where
        assert "Traceback" not in out + err, where
        lines = [x for x in err.splitlines() if x and not x.startswith("→ target:")]
        assert len(lines) == 1 and lines[0].startswith("❌"), f"{where}\n{err}"
        assert out == "", f"{where}\n{out}"

        code, out, err = run_main([*command, "--json"], capsys)
        assert code != 0, where
        assert "Traceback" not in out + err, where
        body = json.loads(out)  # exactly one JSON object
        assert body["ok"] is False and body["error"], where
        assert EXPECTED[condition] in body["error"], f"{where}: {body}"


def test_cli_as_a_process_server_down(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHRELAY_", "SCALEKIT_"))}
    env["AUTHRELAY_CONFIG_DIR"] = str(tmp_path)
    write_profile(tmp_path, f"http://127.0.0.1:{free_port()}", "arc_x", "ars_x")
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "authrelay", "providers", "list", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1
        assert "Traceback" not in proc.stdout + proc.stderr
        if extra:
            assert json.loads(proc.stdout)["error"].startswith("cannot reach http://127.0.0.1:")
        else:
            assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("❌ cannot reach")


@ONE_BACKEND
def test_sdk_raises_its_own_errors(
    server: Server, dev_client: dict[str, str], silent_port: int
) -> None:
    client_id, secret = dev_client["client_id"], dev_client["client_secret"]
    down = f"http://127.0.0.1:{free_port()}"
    with authrelay_client.Client(down, client_id, secret) as client:
        with pytest.raises(authrelay_client.APIConnectionError) as caught:
            client.providers.list()
    assert caught.value.url == f"{down}/oauth/token" and "cannot reach" in str(caught.value)
    tls = f"https://127.0.0.1:{server.port}"
    with authrelay_client.Client(tls, client_id, secret) as client:
        with pytest.raises(authrelay_client.APIConnectionError, match="TLS failure"):
            client.connections.list()
    silent = f"http://127.0.0.1:{silent_port}"
    with authrelay_client.Client(silent, client_id, secret, timeout=0.3) as client:
        with pytest.raises(authrelay_client.APITimeoutError):
            client.connected_accounts.list()
    with pytest.raises(authrelay_client.ConfigurationError, match="must start with"):
        authrelay_client.Client(f"127.0.0.1:{server.port}", client_id, secret)
    with authrelay_client.Client(server.url, client_id, secret) as client:
        client.providers.list()  # a working exchange, then the server goes away mid-use
        client._auth.credentials.env_url = down
        with pytest.raises(authrelay_client.APIConnectionError):
            client.actions.request("c", "u", "/x")


@ONE_BACKEND
async def test_async_sdk_raises_its_own_errors(dev_client: dict[str, str]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with authrelay_client.AsyncClient(
        down, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        with pytest.raises(authrelay_client.APIConnectionError):
            await client.providers.list()
