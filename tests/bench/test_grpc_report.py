"""Bookkeeping of bench/grpc_execute.py: pairing REST and gRPC load by round and the two
target checks, on made-up measurements (no servers, no clock)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import grpc_execute  # noqa: E402
from grpc_execute import Load  # noqa: E402


def _load(kind: str, rnd: int, per_second: float, errors: int = 0) -> Load:
    return Load(kind, rnd, int(per_second * 10), 10.0, errors, 1.0, 5.0, 50.0)


def test_ratio_pairs_rounds_measured_back_to_back() -> None:
    loads = [
        _load("REST", 0, 1000),
        _load("gRPC", 0, 900),
        _load("gRPC", 1, 400),  # the order alternates; pairing is by round, not position
        _load("REST", 1, 800),
        _load("REST", 2, 500),  # a round without its gRPC half is left out
    ]
    assert grpc_execute.paired_ratios(loads) == [0.9, 0.5]


def test_checks_meet_and_miss_the_targets() -> None:
    latency = {"REST": [1.0, 2.0, 1.5], "gRPC": [1.5, 2.4, 3.0]}
    met = grpc_execute.checks(latency, [_load("REST", 0, 1000), _load("gRPC", 0, 850)], 64)
    assert "+0.50 ms" in met[2] and met[2].endswith("| met |")  # diffs 0.5, 0.4, 1.5
    assert "| 85% (rounds: 85%) | ≥ 80% | met |" in met[3]
    slow = {"REST": [1.0], "gRPC": [2.5]}
    missed = grpc_execute.checks(slow, [_load("REST", 0, 1000), _load("gRPC", 0, 500)], 64)
    assert missed[2].endswith("| not met |") and missed[3].endswith("| not met |")


def test_errors_make_the_throughput_check_invalid() -> None:
    loads = [_load("REST", 0, 1000), _load("gRPC", 0, 900, errors=3)]
    lines = grpc_execute.checks({"REST": [1.0], "gRPC": [1.2]}, loads, 64)
    assert "INVALID (errors)" in lines[3]


def test_render_lists_rounds_medians_and_client_cpu() -> None:
    loads = [_load("REST", 0, 1000), _load("gRPC", 0, 900)]
    text = grpc_execute.render({"REST": [1.0], "gRPC": [1.2]}, loads, "load average 0.1", 64)
    assert "Machine at the start: load average 0.1." in text
    assert "| 1 | gRPC | 900 | 50.00 | 556 | 10% | 0 |" in text  # 5 s of CPU / 9,000 calls
    assert "| median | REST | 1,000 |" in text
    counts = grpc_execute.render_counts({"REST": 900_000.0, "gRPC": 1_000_000.0})
    assert "| gRPC − REST | +100,000 |" in counts
