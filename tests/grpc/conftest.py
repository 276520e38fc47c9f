"""The gRPC gateway's tests share one in-process application per test module, on the
session's SQLite store (tests/conftest.py), and a token of its `dev` environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.grpc_asgi import InProcessApp
from tests.support.servers import Backend, create_client


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    backend = Backend("sqlite", tmp_path_factory.mktemp("grpc-data"))
    app = InProcessApp(backend).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def token(inproc: InProcessApp) -> str:
    backend = Backend("sqlite", inproc.settings.data_dir)
    return inproc.token(create_client(backend))
