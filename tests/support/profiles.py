"""Running the `authrelay` command with its own profile folder, and the `profiles` fixture
(a dev and a production profile on the test server)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result, cli_env, run_authrelay
from tests.support.servers import Backend, Server


def cli(config: Path, *args: str, stdin: str | None = None, **env_extra: str) -> Result:
    """`authrelay ARGS` with the profile folder `config` (in this process:
    tests/support/cli.py)."""
    return run_authrelay(args, _env(config, **env_extra), stdin=stdin)


def _env(config: Path, **extra: str) -> dict[str, str]:
    return cli_env(AUTHRELAY_CONFIG_DIR=str(config), **extra)


def ok(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def one_error(proc: Any) -> str:
    """The single error line of a failed command (besides the target line)."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x and not x.startswith("→ target:")]
    assert len(lines) == 1 and lines[0].startswith("❌"), proc.stderr
    return lines[0]


@dataclass
class InProcess:
    """`cli` bound to one profile folder. Standard input is not a terminal (confirmations
    need --yes); `stdin` is what it reads."""

    config: Path

    def __call__(self, *args: str, stdin: str = "", **env: str) -> Result:
        return run_authrelay(args, _env(self.config, **env), stdin=stdin)

    def save_profiles(self, backend: Backend, *names: str) -> None:
        """`env create-client NAME --save-profile NAME` for each name (environment and
        profile share it), in this process."""
        for name in names:
            ok(self("env", "create-client", name, "--save-profile", name, **backend.settings_env()))


def cli_wide(config: Path, *args: str, check: bool | None = None) -> Result:
    """`cli` with a 200-column terminal (tables unwrapped); `check=True` asserts success."""
    proc = cli(config, *args, COLUMNS="200")
    if check is True:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def profiles(
    tmp_path: Path,
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
) -> Path:
    """Two profiles made with `profile add`."""
    config = tmp_path / "config"
    run = InProcess(config)
    for name, client in (("dev", dev_client), ("production", prod_client)):
        added = run(
            "profile", "add", name, "--env-url", server.url,
            "--client-id", client["client_id"], "--client-secret", client["client_secret"],
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
    secret_file = config / "secrets" / "dev"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    listed_run = run("profile", "list", "--json")
    assert listed_run.returncode == 0, listed_run.stdout + listed_run.stderr
    listed = json.loads(listed_run.stdout)
    assert listed["current"] == "dev" and dev_client["client_secret"] not in json.dumps(listed)
    return config
