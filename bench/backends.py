"""Where a benchmark's authrelay keeps its data: SQLite in the run's folder, or a fresh
PostgreSQL database on the server named by AUTHRELAY_TEST_POSTGRES_URL (what
`scripts/with-postgres` exports). Settings reach the servers and CLI runs the benchmark
starts through its environment (bench/run.py's `Processes` passes os.environ on)."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import run as harness
from run import CONNECTION_NAME, HarnessError
from seed import seed_accounts

from authrelay.config import Settings
from authrelay.vault.keyring import format_entry, new_key_entry


@dataclass(frozen=True)
class Backend:
    kind: str  # "sqlite" or "postgres"
    data_dir: Path
    database_url: str | None  # None: SQLite in data_dir
    master_keys: str | None  # None: the key file in data_dir

    @property
    def resolved_url(self) -> str:
        """The SQLAlchemy URL the server uses."""
        return Settings(
            data_dir=self.data_dir, database_url=self.database_url
        ).resolved_database_url

    def export(self) -> None:
        """Make this the store of every authrelay process started from now on."""
        os.environ["AUTHRELAY_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            os.environ["DATABASE_URL"] = self.database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        if self.master_keys:
            os.environ["AUTHRELAY_MASTER_KEYS"] = self.master_keys
        else:
            os.environ.pop("AUTHRELAY_MASTER_KEYS", None)


async def _create_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def make_backend(kind: str, data_dir: Path) -> Backend:
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        return Backend(kind, data_dir, None, None)
    server_url = os.environ.get("AUTHRELAY_TEST_POSTGRES_URL", "")
    if not server_url:
        raise HarnessError(
            "PostgreSQL needs a server: run under scripts/with-postgres, or set "
            "AUTHRELAY_TEST_POSTGRES_URL=postgresql://user@host:port/postgres"
        )
    name = f"authrelay_bench_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_url, name))
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    kid, key = new_key_entry()
    return Backend(kind, data_dir, url, format_entry(kid, key))


def scenario_main(run: Callable[[], str], out: Path | None) -> int:
    """The shared `main` of the many-users and memory scenarios: run one, print its report,
    write it to `out` when given; exit 1 with one line when the harness fails."""
    harness.READY_TIMEOUT_S = 300  # workers start slowly on a loaded machine
    try:
        text = run()
    except HarnessError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0


def seed_all(backend: Backend, accounts: int) -> float:
    """Seed `accounts` accounts (identifiers 0 .. accounts - 1) on the benchmark's connection,
    print how long it took and return the seconds."""
    took = seed_accounts(
        backend.resolved_url, backend.master_keys, backend.data_dir, CONNECTION_NAME, 0, accounts
    )
    print(f"seeded {accounts:,} accounts in {took:.1f}s", flush=True)
    return took


def scenario_report(title: str, info: dict[str, str], body: list[str]) -> str:
    """A scenario's markdown report: its title, the conditions as a list, then `body`."""
    lines = [title, "", *(f"- {k}: {v}" for k, v in info.items()), "", *body]
    return "\n".join(lines) + "\n"
