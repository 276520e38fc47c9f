"""The first seconds after a restart: proxied calls with a random `identifier` per request over
N connected accounts, sent from the moment a freshly started server answers `/readyz` (as a
load balancer would send them), against the same load once the server has run a while.

    .venv/bin/python bench/restart.py [--accounts 100000] [--rounds 3] [--window 3]
    scripts/with-postgres .venv/bin/python bench/restart.py --database postgres

Per round: stop the server, start it again (same database, same data), wait for `/readyz`,
then run wrk for `--window` seconds ("first"), then again for `--window` seconds right after
("next"), then `--settle` seconds later once more ("settled"). Every window starts with the
caches of its moment: cold in the first, then whatever the earlier windows left. The table
gives medians over the rounds, and the time from starting the process to its first ready
answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import make_backend, scenario_main, scenario_report, seed_all
from run import (
    BENCH_DIR,
    REQUEST_PATH,
    WrkResult,
    cpu_busy_fraction,
    ensure_wrk,
    load_average,
    machine_info,
    run_wrk,
    running,
    setup_connected_account,
    start_authrelay,
    start_upstream,
    work_dir,
)

SCRIPT = str(BENCH_DIR / "identifiers.lua")
MAX_FIRST_P99_MS = 50.0  # the steady-state bound of bench/many_users.py, from the first second
WINDOWS = ("first", "next", "settled")


@dataclass
class Window:
    round: int
    name: str
    result: WrkResult


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Latency in the first seconds after a restart.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=3, help="seconds per measurement")
    parser.add_argument("--settle", type=int, default=10, help="seconds before 'settled'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def table(windows: list[Window], ready_s: list[float], window_s: int) -> list[str]:
    lines = [
        "| Window | Requests/s (median) | p50 (ms) | p99 (ms), median | p99 (ms), each round "
        "| Errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in WINDOWS:
        group = [w.result for w in windows if w.name == name]
        lines.append(
            f"| {name} | {median(r.requests_per_s for r in group):,.0f} "
            f"| {median(r.p50_ms for r in group):.2f} "
            f"| {median(r.p99_ms for r in group):.2f} "
            f"| {', '.join(f'{r.p99_ms:.1f}' for r in group)} "
            f"| {sum(r.errors for r in group)} |"
        )
    lines += [
        "",
        f"Start to first ready answer: {median(ready_s):.2f} s (median; "
        f"{', '.join(f'{s:.2f}' for s in ready_s)}).",
    ]
    first = median(w.result.p99_ms for w in windows if w.name == "first")
    verdict = "met" if first < MAX_FIRST_P99_MS else "not met"
    lines += [
        "",
        "| Check | Measured | Target | Result |",
        "|---|---:|---:|---|",
        f"| p99 of the first {window_s} s after a restart "
        f"| {first:.1f} ms | < {MAX_FIRST_P99_MS:.0f} ms | {verdict} |",
    ]
    return lines


def run(args: argparse.Namespace) -> str:
    wrk = ensure_wrk()
    busy = cpu_busy_fraction()
    started = dt.datetime.now(dt.UTC)
    windows: list[Window] = []
    ready_s: list[float] = []
    script = [SCRIPT, "random", str(args.accounts), str(min(args.connections, 2))]
    with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
        backend = make_backend(args.database, tmp / "data")
        backend.export()
        upstream = start_upstream(procs)
        server = start_authrelay(procs, backend.data_dir, args.workers)
        headers = setup_connected_account(server, backend.data_dir, upstream)
        seed_all(backend, args.accounts)
        for rnd in range(args.rounds):
            procs.stop(server)
            began = time.monotonic()
            server = start_authrelay(procs, backend.data_dir, args.workers)
            ready_s.append(time.monotonic() - began)
            url = server.url + "/proxy" + REQUEST_PATH
            for name in WINDOWS:
                if name == "settled":
                    time.sleep(args.settle)
                result = run_wrk(wrk, url, args.connections, args.window, headers, script)
                windows.append(Window(rnd, name, result))
                print(
                    f"  round {rnd + 1}, {name}: {result.requests_per_s:,.0f} req/s, "
                    f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                    f"errors {result.errors}",
                    flush=True,
                )
    info = {
        **machine_info(wrk),
        "Database": args.database,
        "Server": f"authrelay serve --workers {args.workers}, default settings, "
        "restarted before every round",
        "Load": f"wrk, {args.connections} connections, random identifier per request over "
        f"{args.accounts:,} accounts, {args.window}s windows (the first from the first "
        f"ready answer), {args.rounds} rounds",
        "CPU busy before the run": f"{busy:.0%} (load average {load_average()})",
    }
    title = f"## After a restart, {args.database}, {started:%Y-%m-%d %H:%M} UTC"
    return scenario_report(title, info, table(windows, ready_s, args.window))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return scenario_main(lambda: run(args), args.out)


if __name__ == "__main__":
    sys.exit(main())
