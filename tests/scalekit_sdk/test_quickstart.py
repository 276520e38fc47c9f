"""docs/scalekit-sdks.md's quickstarts, the Python and the Node code blocks extracted from
the page and run as written against `authrelay serve --dev-tls` (a fresh store), with the
trust variables the server printed and the setup the page's bash block makes (the README
tour's echo provider and `echoapi` connection, examples/tools/echo-tool.json), done here over
REST against the recording upstream instead of the echo API on :9911."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import new_backend
from tests.scalekit_sdk.conftest import (
    REPO,
    TlsServer,
    ensure_node_sdk,
    sdk_env,
    start_tls_server,
    trusting,
)
from tests.support.servers import run_cli
from tests.support.upstream import RecordingUpstream

PAGE = REPO / "docs" / "scalekit-sdks.md"


def code_block(language: str) -> str:
    quickstart = PAGE.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    found = re.findall(rf"```{language}\n(.*?)```", quickstart, re.S)
    assert len(found) == 1, f"the quickstart has {len(found)} {language} blocks"
    return str(found[0])


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    backend = new_backend("sqlite", tmp_path_factory.mktemp("data-quickstart"))
    server = start_tls_server(backend, tmp_path_factory.mktemp("logs-quickstart"), None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def quickstart_env(dev_server: TlsServer, upstream: RecordingUpstream) -> dict[str, str]:
    """The variables the page exports: the printed trust variables and a client's."""
    printed = dict(re.findall(r"^\s+export (\w+)=(\S+)$", dev_server.log_with("NODE_EXTRA"), re.M))
    assert set(printed) == {
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    }, printed
    # as the page does: `authrelay env create-client dev --json`
    client = json.loads(run_cli(dev_server.backend, "env", "create-client", "dev", "--json").stdout)
    assert client["environment_url"] == dev_server.url, client
    trust = trusting(Path(printed["REQUESTS_CA_BUNDLE"]))
    token = httpx.post(
        f"{dev_server.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        verify=trust,
    ).json()["access_token"]
    provider = json.loads((REPO / "examples" / "echo-provider.json").read_text())
    provider["proxy_url"] = upstream.url + "/echo"
    tool = json.loads((REPO / "examples" / "tools" / "echo-tool.json").read_text())
    with httpx.Client(
        base_url=dev_server.url, headers={"Authorization": f"Bearer {token}"}, verify=trust
    ) as api:
        made = api.post("/api/v1/custom-providers", json=provider)
        assert made.status_code == 201 and made.json()["provider"]["identifier"] == "echoapi"
        made = api.post(
            "/api/v1/connections", json={"provider_key": "echoapi", "key_id": "echoapi"}
        )
        assert made.status_code == 201, made.text
        made = api.post("/api/v1/tools", json=tool)
        assert made.status_code == 201, made.text
    return sdk_env(
        SCALEKIT_ENV_URL=client["environment_url"],
        SCALEKIT_CLIENT_ID=client["client_id"],
        SCALEKIT_CLIENT_SECRET=client["client_secret"],
        **printed,
    )


def run_block(command: list[str], path: Path, code: str, env: dict[str, str]) -> list[str]:
    path.write_text(code)
    done = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def upstream_saw(upstream: RecordingUpstream, key: str) -> list[tuple[str, Any]]:
    return [(r.raw_path, r.method) for r in upstream.requests if r.header("X-API-Key") == key]


def test_the_python_quickstart_runs_as_written(
    quickstart_env: dict[str, str], upstream: RecordingUpstream, tmp_path: Path
) -> None:
    out = run_block(
        [sys.executable], tmp_path / "quickstart.py", code_block("python"), quickstart_env
    )
    assert out[0] == "ACTIVE", out
    assert json.loads(out[1].replace("'", '"'))["path"] == "/echo/v1/hello?name=carol", out
    assert upstream_saw(upstream, "carol-key-789") == [("/echo/v1/hello?name=carol", "GET")]


def test_the_node_quickstart_runs_as_written(
    quickstart_env: dict[str, str], upstream: RecordingUpstream, tmp_path: Path
) -> None:
    package = ensure_node_sdk()
    node = shutil.which("node")
    assert node is not None
    env = {**quickstart_env, "NODE_PATH": str(package.parent.parent)}
    out = run_block([node], tmp_path / "quickstart.js", code_block("javascript"), env)
    assert out[0] == "dave@example.com", out
    assert json.loads(out[1])["path"] == "/echo/v1/hello?name=dave", out
    assert upstream_saw(upstream, "dave-key-012") == [("/echo/v1/hello?name=dave", "GET")]
