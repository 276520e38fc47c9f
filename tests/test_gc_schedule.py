"""The server's full garbage collections run on a timer (AUTHRELAY_GC_FULL_COLLECTION_SECONDS),
not by Python's own rule; Python's thresholds come back when the application stops."""

from __future__ import annotations

import asyncio
import gc

from authrelay.app import _NEVER, _FullCollections


def test_full_collections_run_on_the_timer_and_the_thresholds_come_back() -> None:
    before = gc.get_threshold()

    async def run() -> tuple[tuple[int, int, int], int]:
        full = _FullCollections(0.05)
        try:
            during = gc.get_threshold()
            started = gc.get_stats()[2]["collections"]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while gc.get_stats()[2]["collections"] - started < 3 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            return during, gc.get_stats()[2]["collections"] - started
        finally:
            full.cancel()

    during, collected = asyncio.run(run())
    assert during == (before[0], before[1], _NEVER)  # no full collection by Python's rule
    assert collected >= 3  # ... but on the timer
    assert gc.get_threshold() == before


def test_zero_keeps_pythons_schedule() -> None:
    before = gc.get_threshold()

    async def run() -> tuple[int, int, int]:
        full = _FullCollections(0)
        try:
            return gc.get_threshold()
        finally:
            full.cancel()

    assert asyncio.run(run()) == before == gc.get_threshold()
