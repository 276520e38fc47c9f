"""Shared pieces of the scale benchmarks (tables.py, writes.py, cli_startup.py): an
authrelay server on a fresh store (SQLite, or a fresh database on the PostgreSQL named by
AUTHRELAY_TEST_POSTGRES_URL, as `scripts/with-postgres` exports it), API setup, rows
seeded straight into the database, medians and a description of the machine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("AUTHRELAY_TEST_POSTGRES_URL", "")


def backends(wanted: str) -> list[str]:
    """`sqlite`, `postgres` or `both` (both: PostgreSQL only when a URL is given)."""
    if wanted == "both":
        return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
    if wanted == "postgres" and not POSTGRES_URL:
        raise SystemExit(
            "postgres needs AUTHRELAY_TEST_POSTGRES_URL (run via scripts/with-postgres)"
        )
    return [wanted]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_database_url(kind: str, data_dir: Path) -> str | None:
    """None for SQLite (in `data_dir`); a fresh PostgreSQL database otherwise."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        return None
    import asyncpg

    name = f"authrelay_bench_{secrets.token_hex(5)}"

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Instance:
    """One authrelay server and its store."""

    kind: str
    data_dir: Path
    database_url: str | None
    port: int
    process: subprocess.Popen[bytes]
    client: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'authrelay.db'}"
        return self.database_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    def token(self) -> str:
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials", **self.client},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token()}"}, timeout=120
        )


def env_for(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHRELAY_")}
    env.pop("DATABASE_URL", None)
    env["AUTHRELAY_DATA_DIR"] = str(data_dir)
    env["AUTHRELAY_LOG_LEVEL"] = "WARNING"
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(data_dir: Path, database_url: str | None, *args: str) -> str:
    proc = subprocess.run(
        [str(VENV_BIN / "authrelay"), *args],
        env=env_for(data_dir, database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"authrelay {' '.join(args)}: {proc.stdout}{proc.stderr}")
    return proc.stdout


@contextlib.contextmanager
def instance(kind: str, data_dir: Path, workers: int = 1) -> Iterator[Instance]:
    database_url = new_database_url(kind, data_dir)
    cli(data_dir, database_url, "db", "upgrade")
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [str(VENV_BIN / "authrelay"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env_for(data_dir, database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        client = json.loads(cli(data_dir, database_url, "env", "create-client", "dev", "--json"))
        yield Instance(kind, data_dir, database_url, port, process, client)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def api_key_provider(name: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "display_name": "API key",
                "fields": [
                    {
                        "field_name": "api_key",
                        "label": "Key",
                        "input_type": "password",
                        "required": True,
                    }
                ],
            }
        ],
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
    }


def call(api: httpx.Client, method: str, path: str, expect: int, **kwargs: Any) -> Any:
    response = api.request(method, path, **kwargs)
    if response.status_code != expect:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load average (1, 5, 15 min) at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group:
    steadier than wall time when other processes load the machine."""
    used = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from "state" on
        if int(fields[2]) == pgid:
            used += int(fields[11]) + int(fields[12])
    return used / os.sysconf("SC_CLK_TCK")


def med(values: list[float]) -> float:
    return float(median(values)) if values else float("nan")
