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
            runtime.tool_cache.remember(runtime.tool_cache.accounts, ("env_x", "t"), ("crm", "u"))
            runtime.tool_cache.remember(runtime.tool_cache.mcp, ("config", "env_x", "c"), None)

        warm()
        async with runtime.sessions() as session:
            await cache_store.bump_accounts(session)
            await session.commit()
        config = await runtime.fresh_generation()
        assert runtime.proxy_cache.cached_route(key) is None  # the 404 answer is gone
        assert len(runtime.proxy_cache.negatives) == 0
        assert runtime.tool_cache.accounts == {}
        assert runtime.proxy_cache.clients.get("arc_x") == "env_x"
        assert runtime.proxy_cache.hosts == {"acme.example.test": "env_x"}
        assert ("config", "env_x", "c") in runtime.tool_cache.mcp
        assert await runtime.fresh_generation() == config  # the tool lists' generation

        warm()
        async with runtime.sessions() as session:
            await cache_store.bump(session)
            await session.commit()
        assert await runtime.fresh_generation() == config + 1
        assert len(runtime.proxy_cache.negatives) == 0
        assert runtime.proxy_cache.clients.get("arc_x") is None
        assert runtime.proxy_cache.hosts is None
        assert runtime.tool_cache.mcp == {} and runtime.tool_cache.accounts == {}
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
        read_at = cache.drops
        runtime.invalidate_accounts()  # a change committed while the miss was reading
        cache.remember_route(key, NotFound("no account"), read_at)
        assert cache.cached_route(key) is None and len(cache.negatives) == 0
        cache.remember_route(key, NotFound("no account"), cache.drops)  # read after it
        assert len(cache.negatives) == 1
    finally:
        await runtime.close()
