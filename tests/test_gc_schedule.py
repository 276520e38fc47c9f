"""The server's full garbage collections run on a timer (AUTHRELAY_GC_FULL_COLLECTION_SECONDS),
not by Python's own rule; Python's thresholds come back when the application stops."""

from __future__ import annotations

import asyncio
import gc

from authrelay.app import _NEVER, _FullCollections


def test_full_collections_run_on_the_timer_and_the_thresholds_come_back() -> None:
    before = gc.get_threshold()

    async def run() -> tuple[tuple[int, int, int], int]:
        full_ones: list[int] = []
        three = asyncio.Event()

        def count(phase: str, info: dict[str, int]) -> None:
            if phase == "stop" and info["generation"] == 2:
                full_ones.append(1)
                if len(full_ones) >= 3:
                    three.set()

        gc.callbacks.append(count)
        full = _FullCollections(0.05)
        try:
            during = gc.get_threshold()
            await three.wait()  # however long the timer takes: no deadline here
            return during, len(full_ones)
        finally:
            full.cancel()
            gc.callbacks.remove(count)

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


def test_overlapping_applications_restore_pythons_thresholds_once_both_stop() -> None:
    before = gc.get_threshold()

    async def run() -> list[tuple[int, int, int]]:
        first, second = _FullCollections(60), _FullCollections(60)
        seen = [gc.get_threshold()]
        first.cancel()
        seen.append(gc.get_threshold())  # the second still runs: still on its timer
        second.cancel()
        return seen

    seen = asyncio.run(run())
    assert seen == [(before[0], before[1], _NEVER)] * 2
    assert gc.get_threshold() == before
