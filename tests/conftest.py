"""Shared fixtures: one real server per database backend (SQLite always; PostgreSQL when
AUTHRELAY_TEST_POSTGRES_URL is set), plus API clients for its environments."""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.client_tls import share_default_context
from tests.support.echo_upstream import EchoUpstream
from tests.support.servers import Backend, Server, create_client, start_server
from tests.support.tls import make_tls
from tests.support.upstream import RecordingUpstream

share_default_context()
T = TypeVar("T")

POSTGRES_URL = os.environ.get("AUTHRELAY_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
#: For a test whose store is incidental (say, client-side error handling with the server as
#: a target), so that a second backend adds nothing: it runs on SQLite only, sharing the
#: SQLite session server. Store behaviour itself runs on every backend.
ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


#: Tests that take far longer than the rest (about a minute each): started first, so that
#: with parallel workers (AUTHRELAY_TEST_WORKERS) none of them is the last one running.
LONG_RUNNING = ("tests/fuzz/", "tests/cli/test_cli_errors.py::test_every_command_fails")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_RUNNING))  # stable sort


async def _create_database(base_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def new_backend(kind: str, data_dir: Path) -> Backend:
    """A fresh, empty store of the given kind."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        return Backend("sqlite", data_dir)
    name = f"authrelay_test_{secrets.token_hex(6)}"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_create_database(POSTGRES_URL, name))
    else:  # Playwright's sync API keeps an event loop on this thread (tests/dashboard)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _create_database(POSTGRES_URL, name)).result()
    parts = urlsplit(POSTGRES_URL)
    return Backend("postgres", data_dir, urlunsplit(parts._replace(path=f"/{name}")))


@pytest.fixture(scope="session")
def kept() -> Iterator[dict[tuple[str, str], Any]]:
    """What the session makes once per backend: its store, servers, clients. pytest tears a
    parametrized session fixture down whenever the next test a worker takes has the other
    backend (the workers take tests in any order), and would otherwise make a new store
    and start new servers each time. Servers are stopped at the end of the session."""
    made: dict[tuple[str, str], Any] = {}
    yield made
    for value in made.values():
        if isinstance(value, Server):
            value.stop()


def keep(made: dict[tuple[str, str], Any], what: str, backend: str, make: Callable[[], T]) -> T:
    key = (what, backend)
    if key not in made:
        made[key] = make()
    return cast(T, made[key])


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kept: dict[tuple[str, str], Any],
) -> Backend:
    name = str(request.param)
    return keep(
        kept, "backend", name, lambda: new_backend(name, tmp_path_factory.mktemp(f"data-{name}"))
    )


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A test CA (trusted by the servers started here) and a localhost server context."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def server(
    backend: Backend,
    tmp_path_factory: pytest.TempPathFactory,
    tls: tuple[Path, ssl.SSLContext],
    kept: dict[tuple[str, str], Any],
) -> Server:
    return keep(
        kept,
        "server",
        backend.name,
        lambda: start_server(
            backend, tmp_path_factory.mktemp("logs"), AUTHRELAY_PROXY_CA_FILE=str(tls[0])
        ),
    )


@pytest.fixture(scope="session")
def dev_client(server: Server, kept: dict[tuple[str, str], Any]) -> dict[str, str]:
    return keep(kept, "dev_client", server.backend.name, lambda: create_client(server.backend))


@pytest.fixture(scope="session")
def prod_client(server: Server, kept: dict[tuple[str, str], Any]) -> dict[str, str]:
    name = server.backend.name
    return keep(kept, "prod_client", name, lambda: create_client(server.backend, "production"))


@pytest.fixture
def unique() -> str:
    """A display-name-safe unique suffix."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_upstream(tls: tuple[Path, ssl.SSLContext]) -> Iterator[RecordingUpstream]:
    server = RecordingUpstream(tls=tls[1]).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_server(
    server: Server, tmp_path_factory: pytest.TempPathFactory, kept: dict[tuple[str, str], Any]
) -> Server:
    """A second server on the same store: allows only 127.0.0.1, follows redirects, and
    gives up on upstreams after one second."""
    return keep(
        kept,
        "strict_server",
        server.backend.name,
        lambda: start_server(
            server.backend,
            tmp_path_factory.mktemp("strict"),
            AUTHRELAY_UPSTREAM_ALLOWLIST="127.0.0.1/32",
            AUTHRELAY_PROXY_FOLLOW_REDIRECTS="true",
            AUTHRELAY_PROXY_READ_TIMEOUT="1",
        ),
    )


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoUpstream]:
    """An upstream that answers every request with an error echoing it in many encodings
    (the secret-redaction tests)."""
    upstream = EchoUpstream().start()
    yield upstream
    upstream.stop()
