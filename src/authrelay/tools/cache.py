"""Per-process cache of what a tool call needs before its upstream call: the tool (with
its compiled input validator) and how a caller's account reference resolves to a
connection. Dropped with the proxy's caches whenever the cache generation moves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from authrelay.tools.model import Binding

_MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class CachedTool:
    id: str
    name: str
    provider: str
    binding: Binding
    validator: Draft202012Validator


class ToolCache:
    def __init__(self) -> None:
        self.tools: dict[tuple[str, str], CachedTool] = {}
        self.accounts: dict[tuple[str, ...], Any] = {}
        self.mcp: dict[tuple[str, ...], Any] = {}  # MCP configs and served tools (authrelay.mcp)

    def clear(self) -> None:
        self.tools.clear()
        self.accounts.clear()
        self.mcp.clear()

    def remember(self, store: dict[Any, Any], key: Any, value: Any) -> None:
        if len(store) >= _MAX_ENTRIES:
            store.clear()
        store[key] = value
