"""The async client mirrors the sync one, and docs/client.md names every method."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from authrelay_client._actions import Actions, AsyncActions
from authrelay_client._mcp import AsyncMcp, AsyncMcpConfigs, Mcp, McpConfigs
from authrelay_client._resources import (
    AsyncConnectedAccounts,
    AsyncConnections,
    AsyncProviders,
    ConnectedAccounts,
    Connections,
    Providers,
)
from authrelay_client._tools import AsyncTools, Tools

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"
PAIRS = {
    "providers": (Providers, AsyncProviders),
    "connections": (Connections, AsyncConnections),
    "connected_accounts": (ConnectedAccounts, AsyncConnectedAccounts),
    "actions": (Actions, AsyncActions),
    "tools": (Tools, AsyncTools),
    "mcp": (Mcp, AsyncMcp),
    "mcp.configs": (McpConfigs, AsyncMcpConfigs),
}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize("resource", sorted(PAIRS))
def test_async_mirrors_sync(resource: str) -> None:
    sync, asynchronous = (public_methods(cls) for cls in PAIRS[resource])
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(PAIRS[resource][1], name)), name


def test_every_method_is_documented() -> None:
    text = DOCS.read_text()
    missing = [
        f"client.{resource}.{name}("
        for resource, (cls, _) in PAIRS.items()
        for name in public_methods(cls)
        if f"client.{resource}.{name}(" not in text
    ]
    assert not missing, f"undocumented in docs/client.md: {missing}"
