"""Other MCP clients than the suite's own `mcp` (2.x) through the whole OAuth flow, each in
its own runtime, installed at test time into .cache/ (pinned, under a file lock, once):

* the TypeScript SDK (`@modelcontextprotocol/sdk`) from a node script
  (drivers/mcp_ts_host.mjs), refresh included;
* the `mcp` Python SDK 1.x in a virtual environment of its own (drivers/mcp_py1_host.py).

Each is given only the MCP URL: discovery from the 401, dynamic registration, sign-in through
a test team app (login hand-off) and Allow on authrelay's consent page, then tools/list and
tools/call reaching the recording upstream with the signed-in user's credential."""

from __future__ import annotations

import asyncio
import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.mcp_oauth_team import TeamApp, running, setup_config, sign_in_environment
from tests.support.servers import Server, free_port
from tests.support.upstream import RecordingUpstream

HERE = Path(__file__).resolve().parent
DRIVERS = HERE / "drivers"
CACHE = HERE.parent.parent / ".cache"
TS_SDK_VERSION = "1.32.2"
PY1_SDK_VERSION = "1.30.0"
INSTALL_TIMEOUT = 600


def _locked_install(lock_name: str, done: Path, install: list[list[str]]) -> None:
    """Run the `install` commands once (when `done` is missing), one process at a time."""
    CACHE.mkdir(exist_ok=True)
    with (CACHE / lock_name).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers wait for one install
        try:
            if done.exists():
                return
            for command in install:
                proc = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=INSTALL_TIMEOUT,
                    stdin=subprocess.DEVNULL,
                )
                assert proc.returncode == 0, f"{command} failed:\n{proc.stdout}\n{proc.stderr}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_ts_sdk() -> Path:
    """@modelcontextprotocol/sdk, pinned, from npm into .cache/mcp-ts-sdk/<version>."""
    npm = shutil.which("npm")
    assert shutil.which("node") and npm, "the TypeScript SDK test needs node and npm on PATH"
    prefix = CACHE / "mcp-ts-sdk" / TS_SDK_VERSION
    manifest = prefix / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
    install = [npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(prefix)]
    _locked_install(
        "mcp-ts-sdk.lock", manifest, [[*install, f"@modelcontextprotocol/sdk@{TS_SDK_VERSION}"]]
    )
    assert json.loads(manifest.read_text())["version"] == TS_SDK_VERSION
    return prefix


def ensure_py1_sdk() -> Path:
    """A virtual environment with `mcp` 1.x (pinned) in .cache/mcp-py1/<version>; its python."""
    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), "the mcp 1.x test needs uv in the suite's virtual environment"
    venv = CACHE / "mcp-py1" / PY1_SDK_VERSION
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    _locked_install(
        "mcp-py1.lock",
        stamp,
        [
            [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
            [str(uv), "pip", "install", "--quiet", "--python", str(python),
             f"mcp=={PY1_SDK_VERSION}"],
            ["touch", str(stamp)],
        ],
    )  # fmt: skip
    return python


async def run_driver(command: list[str], cfg: dict[str, Any]) -> dict[str, Any]:
    """A driver with `cfg` on stdin, without blocking this loop (the team app runs on it)."""
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=DRIVERS,
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(cfg).encode()), 180)
    assert proc.returncode == 0, f"{command[0]} exited {proc.returncode}:\n{err.decode()[-4000:]}"
    results: dict[str, Any] = json.loads(out)
    return results


async def test_typescript_sdk_host(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    sdk = await asyncio.to_thread(ensure_ts_sdk)
    node = shutil.which("node")
    assert node is not None
    async with running(TeamApp(user="alice")) as team:
        env = sign_in_environment(server, f"ts-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        upstream.clear()
        cfg = {
            "url": config["mcp_server_url"],
            "tool": f"items_{unique}",
            "redirect": f"http://127.0.0.1:{free_port()}/callback",
            "sdk": str(sdk),
        }
        results = await run_driver([node, "mcp_ts_host.mjs"], cfg)
    assert results["unauthorized_first"] is True
    assert results["client_id"].startswith("mcpc_")  # dynamic registration
    assert f"items_{unique}" in results["tools"]
    assert results["is_error"] is False and results["after_refresh_is_error"] is False
    assert results["refresh_rotated"] is True
    assert results["callback"]["iss"] == env.issuer
    assert f"{env.issuer}/authorize" in results["visited"] and team.url in results["visited"]
    assert [u for u in results["visited"] if u.startswith(f"{env.issuer}/consent/")]
    # both calls (before and after the refresh) with alice's API key
    assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1", "k-secret-1"]


async def test_python_sdk_1x_host(server: Server, upstream: RecordingUpstream, unique: str) -> None:
    python = await asyncio.to_thread(ensure_py1_sdk)
    async with running(TeamApp(user="alice")) as team:
        env = sign_in_environment(server, f"py1-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        upstream.clear()
        cfg = {
            "url": config["mcp_server_url"],
            "tool": f"items_{unique}",
            "redirect": f"http://127.0.0.1:{free_port()}/callback",
        }
        results = await run_driver([str(python), "mcp_py1_host.py"], cfg)
    assert results["mcp_version"] == PY1_SDK_VERSION
    assert results["client_id"].startswith("mcpc_") and results["refresh_token"] is True
    assert f"items_{unique}" in results["tools"] and results["is_error"] is False
    assert results["callback_iss"] == env.issuer
    assert f"{env.issuer}/authorize" in results["visited"] and team.url in results["visited"]
    assert [u for u in results["visited"] if u.startswith(f"{env.issuer}/consent/")]
    assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1"]
