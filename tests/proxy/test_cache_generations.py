"""Two cache generations (store/cache.py): a change of connected accounts drops only what
depends on accounts (proxy routes and error answers, tool-call targets); a change of
configuration drops everything. Checked on a real runtime over a real database, by what
each process cache still holds after the generations moved in the database."""

from __future__ import annotations

from pathlib import Path

from authrelay.config import Settings
from authrelay.errors import NotFound
from authrelay.runtime import create_runtime
from authrelay.store import cache as cache_store


async def test_account_changes_keep_what_does_not_depend_on_accounts(tmp_path: Path) -> None:
    runtime = await create_runtime(Settings(data_dir=tmp_path))
    try:
        await runtime.fresh_generation()
        key = ("env_x", "crm", "someone")

        def warm() -> None:
            runtime.proxy_cache.remember_route(key, NotFound("no account"))
            runtime.proxy_cache.clients.put("arc_x", "env_x")
            runtime.proxy_cache.hosts = {"acme.example.test": "env_x"}
            tools = runtime.tool_cache
            tools.accounts.put(("env_x", "t"), ("crm", "u"))
            tools.mcp.put(("config", "env_x", "c"), (None,))

        warm()
        async with runtime.sessions() as session:
            await cache_store.bump_accounts(session)
            await session.commit()
        config = await runtime.fresh_generation()
        assert runtime.proxy_cache.cached_route(key) is None  # the 404 answer is gone
        assert len(runtime.proxy_cache.negatives) == 0
        assert len(runtime.tool_cache.accounts) == 0
        assert runtime.proxy_cache.clients.get("arc_x") == "env_x"
        assert runtime.proxy_cache.hosts == {"acme.example.test": "env_x"}
        assert runtime.tool_cache.mcp.get(("config", "env_x", "c")) == (None,)
        assert await runtime.fresh_generation() == config  # the tool lists' generation

        warm()
        async with runtime.sessions() as session:
            await cache_store.bump(session)
            await session.commit()
        assert await runtime.fresh_generation() == config + 1
        assert len(runtime.proxy_cache.negatives) == 0
        assert runtime.proxy_cache.clients.get("arc_x") is None
        assert runtime.proxy_cache.hosts is None
        assert len(runtime.tool_cache.mcp) == 0 and len(runtime.tool_cache.accounts) == 0
    finally:
        await runtime.close()


async def test_a_process_does_not_drop_its_caches_again_for_its_own_change(
    tmp_path: Path,
) -> None:
    """The process that made a change dropped its caches at once; its poll must not drop
    what was cached since (it did, up to a second later: a flood of 404 answers cached after
    an account was created vanished). Another process's move is still seen."""
    runtime = await create_runtime(Settings(data_dir=tmp_path))
    try:
        await runtime.fresh_generation()
        key = ("env_x", "crm", "someone")
        for bump, drop in (
            (cache_store.bump_accounts, runtime.invalidate_accounts),
            (cache_store.bump, runtime.invalidate),
        ):
            async with runtime.sessions() as session:
                moved_to = await bump(session)
                await session.commit()
            drop(moved_to)
            runtime.proxy_cache.remember_route(key, NotFound("no account"))
            await runtime.fresh_generation()  # the poll
            assert len(runtime.proxy_cache.negatives) == 1

        # Two moves, one of them not this process's: the poll drops the caches.
        async with runtime.sessions() as session:
            await cache_store.bump_accounts(session)  # "another process"
            moved_to = await cache_store.bump_accounts(session)
            await session.commit()
        runtime.invalidate_accounts(moved_to)
        runtime.proxy_cache.remember_route(key, NotFound("no account"))
        await runtime.fresh_generation()
        assert len(runtime.proxy_cache.negatives) == 0
    finally:
        await runtime.close()


async def test_a_route_read_before_a_drop_is_not_stored_after_it(tmp_path: Path) -> None:
    """A miss that read the database before a change and finishes after the change dropped
    the caches must not store what it read: it may predate the change (a 404 for an account
    just created), and no later drop would remove it."""
    runtime = await create_runtime(Settings(data_dir=tmp_path))
    try:
        cache = runtime.proxy_cache
        key = ("env_x", "crm", "someone")
        read_at = cache.routes.clears
        runtime.invalidate_accounts()  # a change committed while the miss was reading
        cache.remember_route(key, NotFound("no account"), read_at)
        assert cache.cached_route(key) is None and len(cache.negatives) == 0
        cache.remember_route(key, NotFound("no account"), cache.routes.clears)  # read after
        assert len(cache.negatives) == 1
    finally:
        await runtime.close()


async def test_a_tool_lookup_read_before_a_drop_is_not_stored_after_it(tmp_path: Path) -> None:
    """The same for the tool-call and MCP lookups: a tool, an account reference's target or
    an MCP config read before a change is not stored after the change dropped the cache."""
    runtime = await create_runtime(Settings(data_dir=tmp_path))
    try:
        tools = runtime.tool_cache
        for drop, store, key, value in (
            (runtime.invalidate_accounts, tools.accounts, ("env_x", "t", "u"), ("crm", "u")),
            (runtime.invalidate, tools.mcp, ("config", "env_x", "c"), (None,)),
            (runtime.invalidate, tools.tools, ("env_x", "tool"), "a tool"),
        ):
            read_at = store.clears
            drop()  # a change committed while the lookup was reading
            store.put(key, value, read_at)
            assert store.get(key) is None and len(store) == 0
            store.put(key, value, store.clears)  # read after it
            assert store.get(key) == value
    finally:
        await runtime.close()
