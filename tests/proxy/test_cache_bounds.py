"""`BoundedCache`: least recently used first out, bounded by entries and by bytes; and the
byte estimates of route-cache entries are not below what the entries really allocate."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from authrelay.bounded_cache import BoundedCache
from authrelay.errors import NotFound
from authrelay.proxy.cache import Negative, ProxyCache, route_entry_size
from authrelay.proxy.routes import Route
from authrelay_client.providers.model import AuthPattern


def _cache(entries: int, size: int) -> BoundedCache[str, str]:
    return BoundedCache(entries, size, lambda k, v: len(v))


def test_entry_bound_drops_the_least_recently_used() -> None:
    cache = _cache(3, 10**9)
    for key in "abc":
        cache.put(key, key)
    assert cache.get("a") == "a"  # now the most recently used
    cache.put("d", "d")
    assert cache.get("b") is None
    assert [k for k in "acd" if cache.get(k) is not None] == ["a", "c", "d"]
    assert len(cache) == 3 and cache.evictions == 1


def test_byte_bound_and_accounting() -> None:
    cache = _cache(100, 1000)
    overhead = 200  # ENTRY_OVERHEAD
    for i in range(10):
        cache.put(f"k{i}", "x" * 100)
    assert cache.bytes <= 1000
    assert len(cache) == 1000 // (100 + overhead)
    cache.put("big", "x" * 5000)  # larger than the whole budget: not stored
    assert cache.get("big") is None and cache.bytes <= 1000
    kept = list(cache.data)
    cache.put(kept[0], "y" * 10)  # replacing an entry re-counts it
    cache.pop(kept[1])
    assert cache.bytes == sum(size for _, size in cache.data.values())
    cache.clear()
    assert cache.bytes == 0 and len(cache) == 0


def test_a_cached_error_is_raised_anew_each_time() -> None:
    cache = ProxyCache(10, 1 << 20)
    key = ("env", "conn", "nobody")
    cache.remember_route(key, NotFound("no connected account for 'nobody'"))
    raised = []
    for _ in range(3):
        try:
            cache.cached_route(key)
        except NotFound as exc:
            raised.append(exc)
    assert len({id(e) for e in raised}) == 3
    assert all(e.message == "no connected account for 'nobody'" for e in raised)
    # Each carries only the traceback of its own raise (one frame in this function).
    depths = []
    for exc in raised:
        tb, depth = exc.__traceback__, 0
        while tb is not None:
            tb, depth = tb.tb_next, depth + 1
        depths.append(depth)
    assert depths[0] == depths[-1]


def _route(i: int, pattern: AuthPattern) -> Route:
    return Route(
        account_id=f"ca_{i:020x}",
        base_url=f"https://tenant{i}.api.example.com/v1",
        origin=("https", f"tenant{i}.api.example.com", 0),
        base_path="/v1",
        header_name="Authorization",
        header_value=f"Bearer {i:040x}",
        pattern=pattern,
    )


def _fill(cache: BoundedCache[Any, Any], count: int, pattern: AuthPattern) -> None:
    for i in range(count):
        key = ("env_0123456789abcdef0123", "conn", f"user{i}@example.com")
        value: Any = (
            _route(i, pattern)
            if i % 2
            else Negative.of(NotFound(f"no connected account for 'user{i}@example.com'"))
        )
        cache.put(key, value)


def test_estimated_bytes_cover_the_real_allocation() -> None:
    pattern = AuthPattern(type="BEARER")
    cache: BoundedCache[Any, Any] = BoundedCache(10**6, 10**9, route_entry_size)
    _fill(cache, 100, pattern)  # warm-up: lazily built objects are not the entries' cost
    cache.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _fill(cache, 5000, pattern)
        gc.collect()
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == 5000
    assert allocated <= cache.bytes, (allocated, cache.bytes)
    assert cache.bytes <= 3 * allocated  # an estimate, not a wild overcount


def test_tool_cache_parts_are_bounded_by_entries_and_bytes() -> None:
    """The tool-call and MCP caches: at most the configured entries, and at most their
    share of the configured bytes, by a deep size of what each entry holds."""
    from authrelay.tools.cache import ToolCache, deep_size

    tools = ToolCache(max_entries=50, max_bytes=1 << 20)
    for i in range(200):
        tools.accounts.put(("env", "p", f"user-{i}"), ("crm", f"user-{i}"))
    assert len(tools.accounts) == 50 and tools.accounts.evictions == 150
    big = {"tools": [{"name": f"t{i}", "description": f"{i}" + "x" * 1000} for i in range(100)]}
    assert deep_size(big) > 100 * 1000
    for i in range(20):
        tools.mcp.put(("served", "env", f"config-{i}"), big)
    assert tools.mcp.bytes <= (1 << 20) // 2 < 20 * deep_size(big)
    assert 0 < len(tools.mcp) < 20
    assert tools.mcp.get(("served", "env", "config-19")) is big  # the newest are kept


def test_deep_size_follows_objects_and_counts_each_once() -> None:
    from dataclasses import dataclass

    from authrelay.tools.cache import deep_size

    @dataclass
    class Holder:
        text: str
        items: list[str]

    shared = "y" * 10_000
    assert deep_size(Holder("x" * 5_000, [shared, shared])) >= 15_000
    assert deep_size([shared, shared]) < 2 * 10_000


def test_the_byte_bound_covers_routes_errors_and_clients_together() -> None:
    """AUTHRELAY_PROXY_CACHE_MAX_BYTES is the most the proxy's caches hold in all, not a
    bound per cache: filled past every bound, their bytes add up to less than it."""
    budget = 256 * 1024
    cache = ProxyCache(10**6, budget)
    pattern = AuthPattern(type="BEARER")
    for i in range(5000):
        key = ("env_0123456789abcdef0123", "conn", f"user{i}@example.com")
        cache.remember_route(key, _route(i, pattern))
        cache.remember_route((*key[:2], f"stranger{i}"), NotFound(f"no account {i}"))
        cache.clients.put(f"client-{i:08d}", f"env-{i:08d}")
    parts = (cache.routes, cache.negatives, cache.clients)
    assert all(part.evictions > 0 for part in parts)  # each reached its share
    assert sum(part.bytes for part in parts) <= budget
    assert cache.routes.bytes > budget // 3  # the routes get the largest share
