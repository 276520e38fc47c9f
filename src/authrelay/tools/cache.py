"""Per-process cache of what a tool call needs before its upstream call: the tool (with
its compiled input validator) and how a caller's account reference resolves to a
connection; and the MCP server's configs and served tool lists. Dropped with the proxy's
caches whenever the cache generation moves.

Each part is bounded by entries and by an estimate of its entries' bytes (`BoundedCache`,
`AUTHRELAY_TOOL_CACHE_MAX_ENTRIES` / `AUTHRELAY_TOOL_CACHE_MAX_BYTES`); the least recently
used entries go first; a value read from the database before a clear is not stored after
it (`BoundedCache.put(..., read_at)`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from authrelay.bounded_cache import BoundedCache
from authrelay.tools.model import Binding


@dataclass(frozen=True)
class CachedTool:
    id: str
    name: str
    provider: str
    binding: Binding
    validator: Draft202012Validator
    read_only: bool = False  # `tools.model.is_read_only` of its definition


def deep_size(value: Any) -> int:
    """Bytes held by `value` and everything it refers to (containers, dataclasses, models
    and plain objects; each object counted once)."""
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, str | bytes | int | float | bool) or item is None:
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        else:
            fields = getattr(item, "__dict__", None)
            if fields is not None:
                stack.append(fields)
            for slot in getattr(type(item), "__slots__", ()):
                stack.append(getattr(item, slot, None))
    return total


def _entry_size(key: Any, value: Any) -> int:
    return deep_size((key, value))


class ToolCache:
    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        # (environment id, tool name) → CachedTool
        self.tools: BoundedCache[tuple[str, str], CachedTool] = BoundedCache(
            max_entries, max(4096, max_bytes // 4), _entry_size
        )
        # (environment id, provider, account reference…) → (connection name, identifier)
        self.accounts: BoundedCache[tuple[str, ...], Any] = BoundedCache(
            max_entries, max(4096, max_bytes // 4), _entry_size
        )
        # MCP configs and served tools (authrelay.mcp): few entries, each possibly large
        self.mcp: BoundedCache[tuple[str, ...], Any] = BoundedCache(
            max_entries, max(4096, max_bytes // 2), _entry_size
        )

    def clear(self) -> None:
        self.tools.clear()
        self.accounts.clear()
        self.mcp.clear()
