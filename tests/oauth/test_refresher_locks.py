"""The refresher's per-account locks last only while someone renews (issue 10: bounded
memory with many end users): an account whose renewal ended leaves no entry behind, and
callers that overlap still share one lock."""

from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager
from typing import Any, cast

from authrelay.oauth.refresh import Refresher
from authrelay_client.providers.allowlist import UpstreamAllowlist


class _Stop(Exception):
    pass


def _refresher(sessions: Any) -> Refresher:
    return Refresher(
        sessions=sessions,
        keyring=cast(Any, None),
        catalog=cast(Any, None),
        http=cast(Any, None),
        invalidate=lambda moved_to: None,
        allowlist=UpstreamAllowlist([]),
    )


def test_no_lock_is_kept_after_renewals_end() -> None:
    @asynccontextmanager
    async def failing() -> Any:
        raise _Stop  # the renewal ends at once (as a deleted account's would)
        yield

    async def main() -> Refresher:
        refresher = _refresher(failing)
        for n in range(2_000):
            try:
                await refresher.renew(f"ca_{n}", 0)
            except _Stop:
                pass
        return refresher

    refresher = asyncio.run(main())
    gc.collect()
    assert len(refresher.locks) == 0


def test_overlapping_callers_share_one_lock() -> None:
    async def main() -> Refresher:
        entered = asyncio.Event()
        release = asyncio.Event()
        calls = 0

        @asynccontextmanager
        async def slow() -> Any:
            nonlocal calls
            calls += 1
            entered.set()
            await release.wait()
            raise _Stop
            yield

        refresher = _refresher(slow)
        first = asyncio.create_task(refresher.renew("ca_1", 0))
        await entered.wait()
        second = asyncio.create_task(refresher.renew("ca_1", 0))
        for _ in range(20):  # let the second caller run up to the lock
            await asyncio.sleep(0)
        # The second caller queues on the first one's lock: one entry, one session so far.
        assert list(refresher.locks) == ["ca_1"] and calls == 1
        lock = refresher.locks["ca_1"]
        assert lock.locked()
        release.set()
        for task in (first, second):
            try:
                await task
            except _Stop:
                pass
        assert calls == 2
        return refresher

    refresher = asyncio.run(main())
    gc.collect()
    assert len(refresher.locks) == 0
