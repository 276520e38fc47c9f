"""Running the real `authrelay` command as a process, with its own profile folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single error line of a failed command (besides the target line)."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x and not x.startswith("→ target:")]
    assert len(lines) == 1 and lines[0].startswith("❌"), proc.stderr
    return lines[0]
