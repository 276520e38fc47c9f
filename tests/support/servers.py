"""Real server processes on free loopback ports, and the CLI pointed at their store."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx

from tests.support.cli import Result, run_authrelay

ALLOWLIST = "127.0.0.0/8,::1,localhost"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    """Where a server keeps its data: a data dir, and a DATABASE_URL for PostgreSQL."""

    name: str
    data_dir: Path
    database_url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AUTHRELAY_", "SCALEKIT_")) and k != "DATABASE_URL"
        }
        env["AUTHRELAY_DATA_DIR"] = str(self.data_dir)
        env["AUTHRELAY_UPSTREAM_ALLOWLIST"] = ALLOWLIST
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(extra)
        return env

    def settings_env(self) -> dict[str, str]:
        """Only the variables that point authrelay at this backend (for in-process runs)."""
        env = {"AUTHRELAY_DATA_DIR": str(self.data_dir)}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env


def run_cli(backend: Backend, *args: str, check: bool = True, **env: str) -> Result:
    """`authrelay ARGS` pointed at the backend (in this process: tests/support/cli.py)."""
    proc = run_authrelay(args, backend.env(**env))
    if check and proc.returncode != 0:
        raise AssertionError(f"authrelay {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _in_process(backend: Backend, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(session)` on the backend's database in this process and commit, as the
    local CLI commands do (`cli.local.with_session`), without a second of interpreter
    start-up and imports per call. For arranging tests; tests/cli runs the commands."""
    from authrelay.cli.local import with_session
    from authrelay.config import Settings

    settings = Settings(data_dir=backend.data_dir, database_url=backend.database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return cast(T, asyncio.run(with_session(settings, work)))
    with ThreadPoolExecutor(1) as pool:  # called from a running event loop (async tests)
        return cast(T, pool.submit(asyncio.run, with_session(settings, work)).result())


def create_environment(backend: Backend, name: str, host: str | None = None) -> None:
    """What `authrelay env create NAME [--host HOST]` does, in this process."""
    from authrelay.store import environments as envs

    async def work(session: Any) -> None:
        await envs.create_environment(session, name, host)

    _in_process(backend, work)


def create_client(backend: Backend, environment: str = "dev") -> dict[str, str]:
    """What `authrelay env create-client ENV --json` does, in this process: the environment
    name, client_id and client_secret."""
    from authrelay.auth.clients import issue_client
    from authrelay.store import environments as envs

    async def work(session: Any) -> dict[str, str]:
        env = await envs.get_environment(session, environment)
        assert env is not None, f"no environment {environment!r}"
        made = await issue_client(session, env)
        return {
            "environment": env.name,
            "client_id": made.client_id,
            "client_secret": made.client_secret,
        }

    return _in_process(backend, work)


@dataclass
class Server:
    backend: Backend
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_with(self, *parts: str, timeout: float = 30) -> str:
        """The log once it holds every part: a line the server writes after its answer
        can reach the file after the client has the answer (bounded, not a timing check)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if all(part in text for part in parts) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def token(self, client: dict[str, str]) -> str:
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, client: dict[str, str]) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(client)}"}, timeout=30
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(backend: Backend, log_dir: Path, **extra_env: str) -> Server:
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "authrelay", "serve", "--port", str(port)],
            env=backend.env(**extra_env),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(backend, port, process, log_path, extra_env)
    # Generous: a loaded machine (parallel test workers, other work) can take a while.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server did not become ready:\n{server.log_text()}")
