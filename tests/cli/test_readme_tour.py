"""The README's five-minute tour, run literally as written: in a fresh checkout of the
repository (the tracked files, with this .venv), with a fresh home and data folder, inside
a private network namespace so that its fixed ports (8080, 9911) are free whatever else
runs on this machine."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tour_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Five-minute tour", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match is not None, "the tour has no bash block"
    return match.group(1)


def fresh_checkout(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        source = ROOT / raw.decode()
        if not source.is_file():
            continue
        dest = target / raw.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    (target / ".venv").symlink_to(ROOT / ".venv")  # ./scripts/setup finds it up to date
    return target


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    block = tour_block()
    assert "--data-dir" not in block and "dev.json" not in block
    clone = fresh_checkout(tmp_path / "clone")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTHRELAY_", "SCALEKIT_", "XDG_")) and k != "DATABASE_URL"
    }
    env["HOME"] = str(home)
    after = "\nauthrelay accounts list --json > tour-accounts.json\n"
    script = f"set -euo pipefail\nip link set lo up\ncd {clone}\n{block}{after}"
    log = tmp_path / "tour.out"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            ["unshare", "--map-root-user", "--net", "bash", "-c", script],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=300)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # the server and echo API it left running
            except ProcessLookupError:
                pass
    out = log.read_text(errors="replace")
    assert code == 0, out + (clone / "authrelay.log").read_text(errors="replace")
    assert "Traceback" not in out
    assert "✅ authrelay is ready at http://127.0.0.1:8080" in out
    assert "saved as profile dev" in out
    assert "created 'Echo API' (echoapi)" in out
    # The proxied call reached the echo API with alice's key injected.
    echoed = json.loads(out[out.index('{\n  "method"') : out.index("}\n", out.index('"body"')) + 1])
    assert echoed["method"] == "GET" and echoed["path"] == "/v1/hello"
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert headers["x-api-key"] == "alice-key-123"
    # The magic link for bob, and his account waiting for him to connect.
    links = re.findall(r"^http://127\.0\.0\.1:8080/\S+$", out, re.M)
    assert len(links) == 1, out
    accounts = json.loads((clone / "tour-accounts.json").read_text())
    status = {a["identifier"]: a["status"] for a in accounts}
    assert status["alice@example.com"] == "ACTIVE"
    assert status["bob@example.com"] == "PENDING_AUTH"
    # Nothing was written into the checkout but the server's log and this test's file.
    assert not (clone / "data").exists()
    assert (home / ".local" / "share" / "authrelay" / "authrelay.db").is_file()
