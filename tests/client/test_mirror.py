"""The server mirrors the client distribution: `authrelay.Client`, `authrelay.client`,
`authrelay.client.models` and `authrelay.integrations.*` are the same objects as
`authrelay_client`'s, and importing `authrelay` (the CLI's start) does not load the SDK."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import authrelay
import authrelay_client

MIRRORS = {
    "authrelay.client": "authrelay_client",
    "authrelay.client.models": "authrelay_client.models",
    "authrelay.integrations.langchain": "authrelay_client.integrations.langchain",
    "authrelay.integrations.openai": "authrelay_client.integrations.openai",
}


def test_top_level_names_are_the_clients() -> None:
    assert authrelay.__all__ == authrelay_client.__all__
    assert authrelay.__version__ == authrelay_client.__version__
    for name in set(authrelay_client.__all__) - {"__version__"}:
        assert getattr(authrelay, name) is getattr(authrelay_client, name), name
    assert authrelay.Client is authrelay_client.Client
    assert authrelay.AsyncClient is authrelay_client.AsyncClient
    with pytest.raises(AttributeError, match="Clinet"):
        authrelay.Clinet  # type: ignore[attr-defined]


@pytest.mark.parametrize("mirror", sorted(MIRRORS))
def test_mirror_modules_re_export_the_same_objects(mirror: str) -> None:
    copy, source = importlib.import_module(mirror), importlib.import_module(MIRRORS[mirror])
    assert copy.__all__ == source.__all__
    assert copy.__all__, mirror
    for name in source.__all__:
        assert getattr(copy, name) is getattr(source, name), f"{mirror}.{name}"


def test_importing_the_server_package_loads_no_sdk() -> None:
    probe = (
        "import sys, authrelay, authrelay.cli.main\n"
        "loaded = sorted(m for m in sys.modules if m == 'httpx' or m.startswith(("
        "'authrelay_client._client', 'authrelay_client.models', 'authrelay.client')))\n"
        "print(loaded)\n"
        "authrelay.Client\n"
        "print('authrelay_client._client' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["[]", "True"], done.stderr
