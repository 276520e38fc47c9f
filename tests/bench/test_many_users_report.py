"""Bookkeeping of bench/many_users.py and bench/memory.py: the target checks on made-up
measurements (no servers, no clock)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import many_users  # noqa: E402
import memory  # noqa: E402
from run import WrkResult  # noqa: E402


def _wrk(rps: float, p99: float, errors: int = 0) -> WrkResult:
    return WrkResult(rps, 1.0, p99, int(rps * 10), errors, 0)


def _rows(same: list[float], rand: list[float], p99: float) -> list[many_users.Measured]:
    rows = []
    for rnd, (s, r) in enumerate(zip(same, rand, strict=True)):
        rows.append(many_users.Measured(100_000, "same", rnd, _wrk(s, 5.0), 0.0, 100.0))
        rows.append(many_users.Measured(100_000, "random", rnd, _wrk(r, p99), 0.0, 250.0))
    return rows


def test_ratio_is_the_median_of_paired_rounds() -> None:
    rows = _rows([1000, 1000, 1000], [200, 600, 450], p99=20.0)
    lines = many_users.checks(rows, "sqlite", 32)
    assert "| 45% | ≥ 30% | met |" in lines[2]
    assert "| 20.0 ms | < 50 ms | met |" in lines[3]
    assert "| 40% | ≥ 30% | met |" in lines[4]  # 100 / 250 µs of server CPU
    assert "not met" in many_users.checks(rows, "postgres", 32)[2]  # 45% < 50%


def test_p99_and_errors_are_reported() -> None:
    rows = _rows([1000], [900], p99=80.0)
    rows[1].result = _wrk(900, 80.0, errors=3)
    lines = many_users.checks(rows, "postgres", 32)
    assert "not met (INVALID: errors in the run)" in lines[3]
    table = "\n".join(many_users.table(rows, "postgres"))
    assert "| 100,000 | random | 900 |" in table


def test_memory_checks() -> None:
    args = argparse.Namespace(database="sqlite", accounts=1000, cache_max_bytes=64 * memory.MIB)
    phases = [memory.Phase(mode, label) for mode, label in memory.PHASES]
    phases[0].points = [(1000, [110.0, 100.0]), (2000, [111.0, 101.0])]
    phases[1].points = [(1000, [150.0, 120.0])]
    phases[2].points = [(5000, [200.0, 130.0])]
    text = memory.report(phases, [100.0, 100.0], args, {"Machine": "test"})
    assert "| growth over idle through 3,000 requests with unknown identifiers | +50 MB" in text
    assert "≤ 64 MB | met |" in text
    assert "| +100 MB | ≤ 64 MB (AUTHRELAY_PROXY_CACHE_MAX_BYTES) | not met |" in text
