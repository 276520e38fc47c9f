"""Running the `authrelay` command with its own profile folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import Result, cli_env, run_authrelay
from tests.support.servers import Backend


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
