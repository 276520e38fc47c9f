"""Scalekit's official SDKs against real authrelay servers: one server with a certificate from
the test CA (`serve --tls-cert/--tls-key`) on the session's store, and the session server
(plain HTTP, so h2c for gRPC). What the SDKs work on is made over REST first (`world`); an
OAuth authorization server (oidc-provider) lets a user authorize a connection through a link
the SDK asked for, with user verification (`run_driver`'s `authorize`)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.keys import environment_id, server_signing_key
from tests.support.oauth_server import (
    OAuthServer,
    authorize_to_verification,
    oauth_provider,
    start_oauth_server,
)
from tests.support.servers import Backend, Server, create_client, free_port
from tests.support.tools import status_tool, tool_body
from tests.support.upstream import RecordingUpstream, provider_definition

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NODE_SDK_VERSION = "2.11.0"
NODE_SDK_DIR = REPO / ".cache" / "node-sdk" / NODE_SDK_VERSION
OAUTH_CLIENT = "sdk-app"
OAUTH_SECRET = "sdk-app-secret-0123456789"
VERIFY_URL = "https://app.example.com/verify?tenant=sdk"


class TlsServer(Server):
    ca_file: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def start_tls_server(backend: Backend, log_dir: Path, ca_file: Path | None) -> TlsServer:
    """`authrelay serve --tls-cert --tls-key` with the test CA's localhost certificate, or
    `serve --dev-tls` (`ca_file` None: the development CA the server makes and prints)."""
    port = free_port()
    log_path = log_dir / f"server-tls-{port}.log"
    if ca_file is None:
        args = ["--dev-tls"]
    else:
        args = ["--tls-cert", str(ca_file.parent / "server.pem")]
        args += ["--tls-key", str(ca_file.parent / "server.key")]
    with log_path.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "authrelay", "serve", "--port", str(port), *args],
            env=backend.env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = TlsServer(backend, port, process, log_path)
    server.ca_file = ca_file or backend.data_dir / "tls" / "ca.pem"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"TLS server exited early:\n{server.log_text()}")
        if server.ca_file.is_file():
            try:
                answer = httpx.get(
                    f"{server.url}/readyz", timeout=1, verify=trusting(server.ca_file)
                )
                if answer.status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"TLS server did not become ready:\n{server.log_text()}")


@pytest.fixture(scope="package")
def tls_server(
    server: Server, tls: tuple[Path, ssl.SSLContext], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsServer]:
    made = start_tls_server(server.backend, tmp_path_factory.mktemp("sdk-tls"), tls[0])
    yield made
    made.stop()


@pytest.fixture(scope="package")
def oauth_as(
    server: Server, tls_server: TlsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OAuthServer]:
    """The authorization server of the OAuth connection `world` makes: one client whose
    redirect URIs are the callbacks of both servers the SDKs talk to."""
    client = {
        "client_id": OAUTH_CLIENT,
        "client_secret": OAUTH_SECRET,
        "redirect_uris": [f"{server.url}/oauth/callback", f"{tls_server.url}/oauth/callback"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    made = start_oauth_server(tmp_path_factory.mktemp("sdk-as"), [client])
    yield made
    made.stop()


def expired_token(backend: Backend, client: dict[str, str]) -> str:
    """A token the server signed an hour ago that expired since (the server's own key)."""
    kid, key = server_signing_key(backend)
    now = int(time.time())
    claims = {
        "iss": "authrelay",
        "aud": "authrelay-api",
        "sub": client["client_id"],
        "client_id": client["client_id"],
        "env": environment_id(backend, client["environment"]),
        "iat": now - 7200,
        "nbf": now - 7200,
        "exp": now - 3600,
        "jti": "sdk-expired",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def world(
    url: str,
    verify: ssl.SSLContext | bool,
    backend: Backend,
    upstream: RecordingUpstream,
    unique: str,
    oauth_as: OAuthServer,
) -> dict[str, Any]:
    """An API client, a provider on the recording upstream (API key in X-Api-Key), its app
    connection and two tools, and an OAuth provider on `oauth_as` (proxying to the recording
    upstream too) with its connection and a tool, made over REST: the config an SDK driver
    script reads."""
    client = create_client(backend)
    token = httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        verify=verify,
    ).json()["access_token"]
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, verify=verify, timeout=30
    ) as api:
        definition = provider_definition(
            f"Sdk {unique}", upstream, type="API_KEY", auth_header_key_override="X-Api-Key"
        )
        made = api.post("/api/v1/custom-providers", json=definition)
        assert made.status_code == 201, made.text
        provider = made.json()["provider"]["identifier"]
        conn = f"sdk-{unique}"
        made = api.post(
            "/api/v1/connections",
            params={"flags.is_app": "true"},
            json={"provider_key": provider, "key_id": conn},
        )
        assert made.status_code == 201, made.text
        tool = f"items_{unique}"
        body = tool_body(provider, tool, description=f"List the widgets of one owner {unique}")
        assert api.post("/api/v1/tools", json=body).status_code == 201
        failing = f"status_{unique}"
        assert api.post("/api/v1/tools", json=status_tool(provider, failing)).status_code == 201
        definition = oauth_provider(f"Sdk OAuth {unique}", oauth_as, f"{upstream.url}/api")
        made = api.post("/api/v1/custom-providers", json=definition)
        assert made.status_code == 201, made.text
        oauth_provider_key = made.json()["provider"]["identifier"]
        oauth_conn = f"sdk-oauth-{unique}"
        made = api.post(
            "/api/v1/connections",
            json={
                "provider_key": oauth_provider_key,
                "key_id": oauth_conn,
                "oauth_config": {
                    "client_id": OAUTH_CLIENT,
                    "client_secret": OAUTH_SECRET,
                    "scopes": ["read"],
                },
            },
        )
        assert made.status_code == 201, made.text
        oauth_tool = f"oauth_items_{unique}"
        body = tool_body(oauth_provider_key, oauth_tool, description="Read items as the user")
        assert api.post("/api/v1/tools", json=body).status_code == 201
    return {
        "env_url": url,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "environment": client["environment"],
        "provider": provider,
        "connection": conn,
        "identifier": f"user-{unique}@example.com",
        "tool": tool,
        "status_tool": failing,
        "search": f"widgets owner {unique}",
        "unique": unique,
        "upstream_url": upstream.url + "/api",
        "expired_token": expired_token(backend, client),
        "oauth_connection": oauth_conn,
        "oauth_tool": oauth_tool,
        "verify_url": VERIFY_URL,
    }


def run_driver(
    command: list[str],
    cfg: dict[str, Any],
    env: dict[str, str],
    authorize: Callable[[str, str], str] | None = None,
    timeout: float = 240,
) -> dict[str, Any]:
    """Run a driver script: the config as one JSON line on its stdin; each line it prints that
    asks to authorize (`{"authorize": link, "identifier": who}`) is answered with one line,
    `{"auth_request_id": authorize(link, who)}`; its last line is its JSON results."""
    with (
        tempfile.TemporaryFile() as stderr_file,
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=env,
            cwd=HERE,
        ) as proc,
    ):
        assert proc.stdin is not None and proc.stdout is not None
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            proc.stdin.write(json.dumps(cfg).encode() + b"\n")
            proc.stdin.flush()
            last = b""
            while line := proc.stdout.readline():
                last = line
                asked = json.loads(line) if line.startswith(b'{"authorize"') else None
                if asked is not None:
                    assert authorize is not None, f"the driver asks to authorize: {asked}"
                    request_id = authorize(asked["authorize"], asked["identifier"])
                    answer = json.dumps({"auth_request_id": request_id}).encode()
                    proc.stdin.write(answer + b"\n")
                    proc.stdin.flush()
            proc.stdin.close()
            returncode = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace")
    assert returncode == 0, f"{command[0]} exited {returncode}:\n{stderr[-4000:]}"
    assert "ERR_HTTP2_ERROR" not in stderr, stderr[-4000:]
    results: dict[str, Any] = json.loads(last)
    return results


def verifying_user(
    verify: ssl.SSLContext | bool, seen: list[dict[str, list[str]]]
) -> Callable[[str, str], str]:
    """`run_driver`'s `authorize`: the user goes through the link to the app's verify URL
    (signed in at the authorization server as the account's identifier); the query that URL
    carried is added to `seen`, its auth_request_id answered."""

    def authorize(link: str, who: str) -> str:
        target, query = authorize_to_verification(link, who, verify)
        assert target.startswith(VERIFY_URL + "&"), target
        seen.append(query)
        return query["auth_request_id"][0]

    return authorize


def sdk_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTHRELAY_", "SCALEKIT_", "GRPC_", "NODE_"))
        and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "HTTPS_PROXY", "HTTP_PROXY")
    }
    env.update(extra)
    return env


def ensure_node_sdk() -> Path:
    """@scalekit-sdk/node, pinned, installed from npm once into .cache/node-sdk/<version>."""
    package = NODE_SDK_DIR / "node_modules" / "@scalekit-sdk" / "node"
    npm = shutil.which("npm")
    assert shutil.which("node") and npm, "the Node SDK tests need node and npm on PATH"
    NODE_SDK_DIR.mkdir(parents=True, exist_ok=True)
    with (NODE_SDK_DIR.parent / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time (pytest-xdist workers)
        try:
            if not (package / "package.json").is_file():
                proc = subprocess.run(
                    [npm, "install", "--no-audit", "--no-fund", "--no-save",
                     "--prefix", str(NODE_SDK_DIR), f"@scalekit-sdk/node@{NODE_SDK_VERSION}"],
                    capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                assert proc.returncode == 0, f"npm install failed:\n{proc.stdout}\n{proc.stderr}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    installed = json.loads((package / "package.json").read_text())["version"]
    assert installed == NODE_SDK_VERSION, installed
    return package


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A client context that trusts the test CA (httpx's verify=<path> is deprecated)."""
    return ssl.create_default_context(cafile=str(ca_file))
