"""The protocol that `mcp` 1.x clients (langchain-mcp-adapters and others) speak: a real 1.x
client, installed from PyPI into its own virtual environment under the user's cache folder
(made once, reused), against the running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from tests.support.locks import interprocess_lock
from tests.support.mcp import session_token, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

REQUIREMENT = "mcp>=1.9,<2"
SCRIPT = Path(__file__).with_name("mcp1_client.py")


def _mcp1_python() -> Path:
    with interprocess_lock("mcp1-venv"):  # one install at a time (pytest-xdist workers)
        return _install_mcp1()


def _install_mcp1() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "authrelay-tests" / f"mcp1-py{sys.version_info[0]}{sys.version_info[1]}"
    python = folder / "bin" / "python"
    stamp = folder / ".installed"
    if not stamp.exists() or stamp.read_text() != REQUIREMENT:
        venv.create(folder, with_pip=True, clear=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                REQUIREMENT,
            ],
            check=True,
            timeout=600,
        )
        stamp.write_text(REQUIREMENT)
    return python


def test_mcp1_client_lists_and_calls_tools(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    python = _mcp1_python()
    with server.api(dev_client) as api:
        _, _, config = setup_config(api, upstream, unique, "fran")
        token = session_token(api, config["id"], "fran")
    url = config["mcp_server_url"]
    upstream.clear()
    done = subprocess.run(
        [str(python), str(SCRIPT), url, token, f"items_{unique}", json.dumps({"owner": "o1"})],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["version"].startswith("1.") or seen["version"] == ""
    assert seen["tools"][f"items_{unique}"]["read_only"] is True
    assert seen["tools"][f"items_{unique}"]["schema"]["required"] == ["owner"]
    assert set(seen["tools"]) == {f"items_{unique}", f"erase_{unique}", f"status_{unique}"}
    assert seen["call"]["is_error"] is False, seen["call"]
    assert upstream.requests[-1].raw_path == "/api/owners/o1/items"
    assert upstream.requests[-1].header("X-Api-Key") == "k-secret-1"
    assert seen["call"]["structured"]["path"] == "/api/owners/o1/items"
    metadata = f"{server.url}/.well-known/oauth-protected-resource/mcp/v3/servers/{config['id']}"
    assert seen["unauthenticated"] == {
        "status": 401,
        "challenge": f'Bearer resource_metadata="{metadata}"',
    }
