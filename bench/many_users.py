"""Many end users: proxied calls with a random `identifier` per request over N connected
accounts, against the same identifier on every request, on SQLite or PostgreSQL.

    .venv/bin/python bench/many_users.py [--accounts 1000,10000,100000] [--connections 32]
    scripts/with-postgres .venv/bin/python bench/many_users.py --database postgres

One authrelay server (`--workers`, default 2) with one connection; N accounts are seeded
straight into the database (bench/seed.py) and each N is measured in `--rounds` rounds, the
same-identifier and the random-identifier runs back to back, their order alternating. Before
every random run the server's caches are dropped (the cache generation is bumped), so each
one starts cold and rounds are comparable. wrk picks the identifier per request with
bench/identifiers.lua. Tables give medians over the rounds; the ratio is the median of each
round's random/same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import make_backend, scenario_main, scenario_report
from run import (
    BENCH_DIR,
    CONNECTION_NAME,
    REQUEST_PATH,
    OtherCpu,
    WrkResult,
    _group_ticks,
    cpu_busy_fraction,
    ensure_wrk,
    int_list,
    load_average,
    machine_info,
    run_wrk,
    running,
    setup_connected_account,
    start_authrelay,
    start_upstream,
    work_dir,
)
from seed import drop_caches, seed_accounts

# Targets from the issue, at 100,000 accounts and 32 connections.
MIN_RATIO = {"sqlite": 0.30, "postgres": 0.50}
MAX_P99_MS = 50.0
SCRIPT = str(BENCH_DIR / "identifiers.lua")


@dataclass
class Measured:
    accounts: int
    mode: str  # "same" or "random"
    round: int
    result: WrkResult
    other_cpu: float
    cpu_us: float  # CPU time of the server (all its processes) per request


def measure(
    wrk: str,
    url: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    mode: str,
    accounts: int,
    pids: set[int],
    server_pgid: int,
) -> tuple[WrkResult, float, float]:
    threads = min(args.connections, 2)
    script = [SCRIPT, "random", str(accounts), str(threads)] if mode == "random" else []
    if args.warmup:
        run_wrk(wrk, url, args.connections, args.warmup, headers, script)
    meter = OtherCpu(pids)
    own0 = _group_ticks({server_pgid})
    result = run_wrk(wrk, url, args.connections, args.duration, headers, script)
    own = _group_ticks({server_pgid}) - own0
    cpu_us = own / os.sysconf("SC_CLK_TCK") * 1e6 / max(result.requests, 1)
    return result, meter.fraction(), cpu_us


def table(rows: list[Measured], database: str) -> list[str]:
    lines = [
        "| Accounts | Identifier | Requests/s (median) | Range | p50 (ms) | p99 (ms) "
        "| Random / same (rounds) | Server CPU µs/req | Errors | Other load (max) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sorted({r.accounts for r in rows}):
        same = {r.round: r for r in rows if r.accounts == n and r.mode == "same"}
        rand = {r.round: r for r in rows if r.accounts == n and r.mode == "random"}
        ratios = [
            rand[k].result.requests_per_s / same[k].result.requests_per_s
            for k in sorted(same)
            if k in rand and same[k].result.requests_per_s
        ]
        for label, group in (("same", same), ("random", rand)):
            results = [m.result for m in group.values()]
            rps = [r.requests_per_s for r in results]
            ratio = ""
            if label == "random" and ratios:
                each = ", ".join(f"{x:.0%}" for x in ratios)
                ratio = f"{median(ratios):.0%} ({each})"
            lines.append(
                f"| {n:,} | {label} | {median(rps):,.0f} | {min(rps):,.0f}–{max(rps):,.0f} "
                f"| {median(r.p50_ms for r in results):.2f} "
                f"| {median(r.p99_ms for r in results):.2f} | {ratio} "
                f"| {median(m.cpu_us for m in group.values()):.0f} "
                f"| {sum(r.errors for r in results)} "
                f"| {max(m.other_cpu for m in group.values()):.0%} |"
            )
    return lines


def checks(rows: list[Measured], database: str, connections: int) -> list[str]:
    n = max(r.accounts for r in rows)
    same = {r.round: r.result for r in rows if r.accounts == n and r.mode == "same"}
    rand = {r.round: r.result for r in rows if r.accounts == n and r.mode == "random"}
    ratios = [rand[k].requests_per_s / same[k].requests_per_s for k in same if k in rand]
    p99 = median(r.p99_ms for r in rand.values())
    goal = MIN_RATIO[database]
    errors = sum(r.errors for r in [*same.values(), *rand.values()])
    valid = "" if not errors else " (INVALID: errors in the run)"
    ratio = median(ratios)
    cpu_same = median(r.cpu_us for r in rows if r.accounts == n and r.mode == "same")
    cpu_rand = median(r.cpu_us for r in rows if r.accounts == n and r.mode == "random")
    return [
        "| Check | Measured | Target | Result |",
        "|---|---:|---:|---|",
        f"| random / same throughput, {n:,} accounts, {connections} connections "
        f"| {ratio:.0%} | ≥ {goal:.0%} | {'met' if ratio >= goal else 'not met'}{valid} |",
        f"| random p99, {n:,} accounts, {connections} connections | {p99:.1f} ms "
        f"| < {MAX_P99_MS:.0f} ms | {'met' if p99 < MAX_P99_MS else 'not met'}{valid} |",
        f"| second view: same / random server CPU per request ({cpu_same:.0f} / "
        f"{cpu_rand:.0f} µs) | {cpu_same / cpu_rand:.0%} | ≥ {goal:.0%} "
        f"| {'met' if cpu_same / cpu_rand >= goal else 'not met'} |",
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Random identifier per request over N accounts.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--accounts", type=int_list, default=[1000, 10_000, 100_000])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    wrk = ensure_wrk()
    busy = cpu_busy_fraction()
    started = dt.datetime.now(dt.UTC)
    rows: list[Measured] = []
    seeding: list[str] = []
    with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
        backend = make_backend(args.database, tmp / "data")
        backend.export()
        upstream = start_upstream(procs)
        server = start_authrelay(procs, backend.data_dir, args.workers)
        headers = setup_connected_account(server, backend.data_dir, upstream)
        url = server.url + "/proxy" + REQUEST_PATH
        pids = {s.process.pid for s in procs.servers}
        seeded = 0
        for n in sorted(args.accounts):
            took = seed_accounts(
                backend.resolved_url,
                backend.master_keys,
                backend.data_dir,
                CONNECTION_NAME,
                seeded,
                n,
            )
            seeding.append(f"{n - seeded:,} accounts in {took:.1f}s")
            print(f"seeded {n - seeded:,} accounts in {took:.1f}s", flush=True)
            seeded = n
            for rnd in range(args.rounds):
                modes = ["same", "random"] if rnd % 2 == 0 else ["random", "same"]
                for mode in modes:
                    if mode == "random":
                        drop_caches(backend.resolved_url)
                        time.sleep(1.5)  # > one cache poll: every worker has dropped them
                    result, other, cpu = measure(
                        wrk, url, headers, args, mode, n, pids, server.process.pid
                    )
                    rows.append(Measured(n, mode, rnd, result, other, cpu))
                    print(
                        f"  {n:,} accounts, {mode}, round {rnd + 1}: "
                        f"{result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                        f"p99 {result.p99_ms:.2f} ms, server CPU {cpu:.0f} µs/req, "
                        f"errors {result.errors}, "
                        f"other load {other:.0%}",
                        flush=True,
                    )
    info = {
        **machine_info(wrk),
        "Database": args.database,
        "Server": f"authrelay serve --workers {args.workers}, default settings",
        "Load": f"wrk, {args.connections} connections, {min(args.connections, 2)} threads, "
        f"{args.duration}s per measurement after {args.warmup}s of warm-up, "
        f"{args.rounds} rounds; caches dropped before every random run",
        "Seeding (direct inserts)": "; ".join(seeding),
        "CPU busy before the run": f"{busy:.0%} (load average {load_average()})",
    }
    title = f"## Many users, {args.database}, {started:%Y-%m-%d %H:%M} UTC"
    body = [*table(rows, args.database), "", *checks(rows, args.database, args.connections)]
    return scenario_report(title, info, body)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return scenario_main(lambda: run(args), args.out)


if __name__ == "__main__":
    sys.exit(main())
