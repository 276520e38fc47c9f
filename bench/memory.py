"""Worker memory under floods of identifiers: the resident set size (RSS) of each authrelay
worker while wrk sends, in order,

1. the same unknown identifier on every request (the proxy answers 404),
2. a new random unknown identifier on every request,
3. distinct known identifiers (each of N seeded accounts in turn),

`--requests` of each (or as many as `--max-seconds` allows per phase), in chunks of
`--chunk` seconds with the workers' RSS read from /proc after each chunk. The report gives
the curve and each worker's growth over its idle size (measured after start-up and a short
warm-up with one known identifier). Targets (issue 10): within 64 MB of idle through the
unknown-identifier floods; within the configured proxy-cache bound
(AUTHRELAY_PROXY_CACHE_MAX_BYTES, `--cache-max-bytes`) with N distinct accounts.

    .venv/bin/python bench/memory.py [--accounts 100000] [--requests 300000]
    scripts/with-postgres .venv/bin/python bench/memory.py --database postgres
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import make_backend, scenario_main, seed_all
from run import (
    BENCH_DIR,
    REQUEST_PATH,
    HarnessError,
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

MIB = 1024 * 1024
UNKNOWN_LIMIT_MB = 64
SCRIPT = str(BENCH_DIR / "identifiers.lua")
PHASES = [
    ("unknown-same", "the same unknown identifier"),
    ("unknown-random", "random unknown identifiers"),
    ("distinct", "distinct known identifiers"),
]


def workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes: children of the server's supervisor started by
    multiprocessing's spawn (not its resource tracker)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise HarnessError(f"no VmRSS for {pid}")


@dataclass
class Phase:
    mode: str
    label: str
    points: list[tuple[int, list[float]]] = field(default_factory=list)  # (sent, RSS each)
    errors: str = ""


def flood(
    wrk: str,
    url: str,
    headers: dict[str, str],
    phase: Phase,
    workers: list[int],
    args: argparse.Namespace,
) -> None:
    threads = min(args.connections, 2)
    script = [SCRIPT, phase.mode, str(args.accounts), str(threads)]
    sent = 0
    began = time.monotonic()
    while sent < args.requests and time.monotonic() - began < args.max_seconds:
        result = run_wrk(wrk, url, args.connections, args.chunk, headers, script)
        sent += result.requests
        expected_404 = phase.mode != "distinct"
        if result.socket_errors or (not expected_404 and result.non_2xx):
            phase.errors = f"{result.non_2xx} non-2xx, {result.socket_errors} socket errors"
        if expected_404 and result.non_2xx < result.requests * 0.99:
            phase.errors = f"only {result.non_2xx} of {result.requests} answered non-2xx"
        phase.points.append((sent, [rss_mb(pid) for pid in workers]))
        print(
            f"  {phase.label}: {sent:,} requests, RSS "
            + ", ".join(f"{m:.0f}" for m in phase.points[-1][1])
            + " MB",
            flush=True,
        )


def _growth(rss: list[float], idle: list[float]) -> float:
    """The largest growth of any worker over its idle RSS."""
    return max(r - i for r, i in zip(rss, idle, strict=True))


def report(
    phases: list[Phase], idle: list[float], args: argparse.Namespace, info: dict[str, str]
) -> str:
    lines = [f"## Worker memory, {args.database}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"]
    lines += ["", *(f"- {k}: {v}" for k, v in info.items()), ""]
    lines.append(f"Idle RSS of the workers: {', '.join(f'{m:.0f}' for m in idle)} MB.")
    lines += ["", "| Phase | Requests sent | RSS per worker (MB) | Growth over idle (MB, max) |"]
    lines.append("|---|---:|---|---:|")
    for phase in phases:
        step = max(1, len(phase.points) // 6)
        shown = phase.points[::step]
        if phase.points and shown[-1] is not phase.points[-1]:
            shown.append(phase.points[-1])
        for sent, rss in shown:
            growth = _growth(rss, idle)
            lines.append(
                f"| {phase.label} | {sent:,} | {', '.join(f'{m:.0f}' for m in rss)} "
                f"| {growth:+.0f} |"
            )
    lines += ["", "| Check | Measured | Target | Result |", "|---|---:|---:|---|"]
    unknown = [p for p in phases if p.mode != "distinct"]
    peak = max(
        max(r - i for r, i in zip(rss, idle, strict=True)) for p in unknown for _, rss in p.points
    )
    sent = sum(p.points[-1][0] for p in unknown)
    bad = "; ".join(f"{p.label}: {p.errors}" for p in phases if p.errors)
    lines.append(
        f"| growth over idle through {sent:,} requests with unknown identifiers "
        f"| {peak:+.0f} MB | ≤ {UNKNOWN_LIMIT_MB} MB "
        f"| {'met' if peak <= UNKNOWN_LIMIT_MB else 'not met'} |"
    )
    distinct = next(p for p in phases if p.mode == "distinct")
    bound = args.cache_max_bytes / MIB
    peak_known = max(
        max(r - i for r, i in zip(rss, idle, strict=True)) for _, rss in distinct.points
    )
    lines.append(
        f"| growth over idle with {min(distinct.points[-1][0], args.accounts):,} distinct "
        f"accounts ({distinct.points[-1][0]:,} requests) | {peak_known:+.0f} MB "
        f"| ≤ {bound:.0f} MB (AUTHRELAY_PROXY_CACHE_MAX_BYTES) "
        f"| {'met' if peak_known <= bound else 'not met'} |"
    )
    if bad:
        lines += ["", f"Errors: {bad}"]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Worker RSS under identifier floods.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300_000, help="per phase, at most")
    parser.add_argument("--max-seconds", type=int, default=180, help="per phase, at most")
    parser.add_argument("--chunk", type=int, default=10, help="seconds between RSS readings")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--cache-max-bytes",
        type=int,
        default=64 * MIB,
        help="AUTHRELAY_PROXY_CACHE_MAX_BYTES for the server (default: the default)",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    wrk = ensure_wrk()
    busy = cpu_busy_fraction()
    with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
        backend = make_backend(args.database, tmp / "data")
        backend.export()
        os.environ["AUTHRELAY_PROXY_CACHE_MAX_BYTES"] = str(args.cache_max_bytes)
        upstream = start_upstream(procs)
        server = start_authrelay(procs, backend.data_dir, args.workers)
        headers = setup_connected_account(server, backend.data_dir, upstream)
        took = seed_all(backend, args.accounts)
        url = server.url + "/proxy" + REQUEST_PATH
        run_wrk(wrk, url, args.connections, 3, headers)  # warm-up: one known identifier
        time.sleep(2)
        workers = workers_of(server.process.pid)
        if len(workers) != args.workers:
            raise HarnessError(f"found worker processes {workers}, expected {args.workers}")
        idle = [rss_mb(pid) for pid in workers]
        print(f"idle RSS: {', '.join(f'{m:.0f}' for m in idle)} MB", flush=True)
        phases = [Phase(mode, label) for mode, label in PHASES]
        for phase in phases:
            flood(wrk, url, headers, phase, workers, args)
    info = {
        **machine_info(wrk),
        "Database": args.database,
        "Server": f"authrelay serve --workers {args.workers}, "
        f"AUTHRELAY_PROXY_CACHE_MAX_BYTES={args.cache_max_bytes}, other settings default",
        "Accounts": f"{args.accounts:,} seeded by direct inserts in {took:.1f}s",
        "Load": f"wrk, {args.connections} connections, chunks of {args.chunk}s; each phase "
        f"up to {args.requests:,} requests or {args.max_seconds}s",
        "CPU busy before the run": f"{busy:.0%} (load average {load_average()})",
    }
    return report(phases, idle, args, info)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return scenario_main(lambda: run(args), args.out)


if __name__ == "__main__":
    sys.exit(main())
