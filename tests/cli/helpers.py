"""Running the real `authrelay` command as a process, with its own profile folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import Backend


def cli(
    config: Path, *args: str, stdin: str | None = None, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHRELAY_", "SCALEKIT_"))}
    env["AUTHRELAY_CONFIG_DIR"] = str(config)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "authrelay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


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
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class InProcess:
    """The `authrelay` entry point (`main`, with its error handling) run in this process,
    which is much faster than a new interpreter per command. Standard input is not a
    terminal (confirmations need --yes); `stdin` is what it reads."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    config: Path

    def __call__(self, *args: str, stdin: str = "", **env: str) -> Result:
        from authrelay.cli.main import main

        with self.monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.startswith(("AUTHRELAY_", "SCALEKIT_")):
                    patch.delenv(name)
            patch.setenv("AUTHRELAY_CONFIG_DIR", str(self.config))
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setattr(sys, "argv", ["authrelay", *args])
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            self.capsys.readouterr()
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def save_profiles(self, backend: Backend, *names: str) -> None:
        """`env create-client NAME --save-profile NAME` for each name (environment and
        profile share it), in this process."""
        for name in names:
            ok(self("env", "create-client", name, "--save-profile", name, **backend.settings_env()))
