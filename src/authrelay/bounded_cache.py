"""A least-recently-used map bounded by entries and by estimated bytes: the per-process
caches of the proxy, the tools and MCP are built on it (a neutral helper below them all)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# What one entry costs besides its key's and value's own objects: the ordered dict's slot and
# link node, and the (value, size) pair stored in it. Measured with tracemalloc on CPython
# 3.11 (tests/proxy/test_cache_bounds.py checks the estimate against the real allocation).
ENTRY_OVERHEAD = 200


def text_size(*parts: str) -> int:
    """Bytes held by these strings."""
    return sum(sys.getsizeof(p) for p in parts)


class BoundedCache(Generic[K, V]):
    """A least-recently-used map bounded by `max_entries` and by `max_bytes`, the sum of each
    entry's estimated size (`sizer(key, value)` plus `ENTRY_OVERHEAD`). Inserting past either
    bound evicts the least recently used entries first; a value larger than `max_bytes` on
    its own is not stored. `clears` counts the times it was emptied: a value read from the
    database before a clear is not stored after it (`put(..., read_at=clears then)`), since
    it may predate the change that caused the clear and nothing would remove it."""

    def __init__(self, max_entries: int, max_bytes: int, sizer: Callable[[K, V], int]) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.sizer = sizer
        self.data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self.evictions = 0
        self.clears = 0

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: K) -> V | None:
        entry = self.data.get(key)
        if entry is None:
            return None
        self.data.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, read_at: int | None = None) -> None:
        if read_at is not None and read_at != self.clears:
            return
        size = self.sizer(key, value) + ENTRY_OVERHEAD
        old = self.data.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if size > self.max_bytes or self.max_entries < 1:
            return
        data = self.data
        while data and (len(data) >= self.max_entries or self.bytes + size > self.max_bytes):
            _, (_, dropped) = data.popitem(last=False)
            self.bytes -= dropped
            self.evictions += 1
        data[key] = (value, size)
        self.bytes += size

    def pop(self, key: K) -> None:
        old = self.data.pop(key, None)
        if old is not None:
            self.bytes -= old[1]

    def clear(self) -> None:
        self.data.clear()
        self.bytes = 0
        self.clears += 1
