"""The benchmark harness's bookkeeping (bench/run.py): wrk output parsing, medians over
rounds, and pairing (b) and (c) by round. No servers, no clock, no measurement: made-up
inputs only; what the proxy achieves is measured by the benchmark itself, never here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("authrelay_bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


run = _load()

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:1/anything/path?x=1
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  342.11us   9.01ms   80.00%
  Latency Distribution
     50%    1.44ms
     75%    1.70ms
     90%    1.95ms
     99%  850.00us
  51234 requests in 5.00s, 9.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  10246.80
Transfer/sec:      1.80MB
"""


def test_parse_wrk() -> None:
    result = run.parse_wrk(WRK_OUTPUT)
    assert result.requests_per_s == 10246.80
    assert result.p50_ms == 1.44 and result.p99_ms == 0.85
    assert result.requests == 51234 and result.non_2xx == 3 and result.errors == 3
    with pytest.raises(run.HarnessError):
        run.parse_wrk("wrk: connection refused")


def _target(key: str, workers: int | None) -> object:
    return run.Target(key, f"({key})", workers, f"http://x/{key}", {}, 1)


def _row(target: object, conns: int, rnd: int, rps: float) -> object:
    result = run.WrkResult(rps, 1.0, 2.0, int(rps * 5), 0, 0)
    return run.Row(target, conns, result, other_cpu=0.0, cpu_us=1e6 / rps, round=rnd)


def _report(b_rps: list[float], c_rps: list[float]) -> object:
    started = run.dt.datetime(2026, 1, 1, tzinfo=run.dt.UTC)
    report = run.Report(started=started, machine={}, settings={})
    b, c = _target("b", 2), _target("c", 2)
    for rnd, (rb, rc) in enumerate(zip(b_rps, c_rps, strict=True)):
        report.rows += [
            _row(b, 16, rnd, rb),
            _row(c, 16, rnd, rc),
        ]
    return report


def test_throughput_check_uses_the_median_of_paired_rounds() -> None:
    # Rounds: 70%, 90%, 85% -> median 85%: a pass, with every round shown.
    report = _report([10_000, 10_000, 10_000], [7_000, 9_000, 8_500])
    assert run.paired_ratios(report, 2, 16) == [0.7, 0.9, 0.85]
    lines = "\n".join(run.target_checks(report, [2], [16]))
    assert "| 85% (rounds: 70%, 90%, 85%) | ≥ 80% | PASS |" in lines


def test_throughput_check_fails_below_the_target() -> None:
    report = _report([10_000, 10_000, 10_000], [7_900, 9_000, 7_000])
    lines = "\n".join(run.target_checks(report, [2], [16]))
    assert "| 79% (rounds: 79%, 90%, 70%) | ≥ 80% | FAIL |" in lines


def test_a_round_with_errors_makes_the_check_invalid() -> None:
    report = _report([10_000, 10_000], [9_000, 9_000])
    bad = next(r for r in report.rows if r.target.key == "c" and r.connections == 16)
    bad.result = run.WrkResult(9_000, 1.0, 2.0, 45_000, 12, 0)
    assert run.paired_ratios(report, 2, 16) is None
    assert "INVALID" in "\n".join(run.target_checks(report, [2], [16]))


def test_results_table_gives_median_and_range() -> None:
    report = _report([9_000, 12_000, 10_000], [8_000, 8_500, 9_900])
    table = "\n".join(run.results_table(report))
    assert "| (b) | 2 | 16 | 10,000 | 9,000–12,000 |" in table
    assert "| (c) | 2 | 16 | 8,500 | 8,000–9,900 |" in table
    cpu = "\n".join(run.cpu_lines(report, [2], [16]))
    # CPU per request is 1e6 / rps in these rows: medians 100 µs and ~118 µs.
    assert "| 2 | 16 | 100 | 118 | +18 | 85% |" in cpu
