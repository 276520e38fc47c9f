"""Instructions per proxied request, counted by valgrind's callgrind: the benchmark's (b) and (c)
compared without timing noise.

Requests/s on a small shared machine move by 10-30% from run to run (docs/benchmarks.md). The
number of CPU instructions a server executes per request does not: callgrind counts them
exactly, and the same build with the same input gives the same count to a fraction of a percent.
This script runs (b) the pass-through floor and (c) authrelay's proxy, each with one uvicorn
worker under `valgrind --tool=callgrind`, sends both the same requests as bench/run.py (same
path, same headers, a real connected account for (c)), counts only while those requests are
being answered, and reports instructions per request and their ratio.

    .venv/bin/python bench/instructions.py [--requests 2000] [--concurrency 16] [--out FILE]

The count covers user-space instructions of the server process (Python, the C extensions,
libc); time in the kernel (socket system calls) is not in it. Under callgrind a server runs
~50x slower, so the requests are few and the run takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import run
from run import (
    REQUEST_PATH,
    HarnessError,
    ProxyUnavailable,
    Server,
    ensure_tool,
    machine_info,
    running,
    setup_connected_account,
    start_authrelay,
    start_passthrough,
    start_upstream,
    work_dir,
)

WARMUP_REQUESTS = 300


@dataclass(frozen=True)
class Count:
    label: str
    requests: int
    instructions: int

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests


async def _send(url: str, headers: dict[str, str], requests: int, concurrency: int) -> None:
    """Exactly `requests` GETs over `concurrency` keep-alive connections; each must be 200."""
    left = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise HarnessError(f"{url} answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _control(callgrind_control: str, *args: str) -> None:
    done = subprocess.run([callgrind_control, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise HarnessError(f"callgrind_control {' '.join(args)} failed: {done.stderr}")


def _totals(out_dir: Path, tag: str, pid: int) -> int:
    """The instruction total of the newest callgrind dump of this process."""
    dumps = sorted(
        out_dir.glob(f"callgrind.{tag}.{pid}.*"), key=lambda p: int(p.name.rsplit(".", 1)[1])
    )
    if not dumps:
        raise HarnessError(f"callgrind wrote no dump for {tag} (pid {pid})")
    match = re.search(r"^totals:\s+(\d+)", dumps[-1].read_text(errors="replace"), re.M)
    if not match:
        raise HarnessError(f"no totals line in {dumps[-1]}")
    return int(match.group(1))


def count(
    server: Server,
    tag: str,
    label: str,
    url: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    callgrind_control: str,
    out_dir: Path,
) -> Count:
    pid = server.process.pid
    asyncio.run(_send(url, headers, WARMUP_REQUESTS, args.concurrency))
    _control(callgrind_control, "--zero", str(pid))
    _control(callgrind_control, "--instr=on", str(pid))
    asyncio.run(_send(url, headers, args.requests, args.concurrency))
    _control(callgrind_control, "--instr=off", str(pid))
    _control(callgrind_control, "--dump", str(pid))
    deadline = time.monotonic() + 30
    while True:
        try:
            total = _totals(out_dir, tag, pid)
            break
        except HarnessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    result = Count(label, args.requests, total)
    print(f"  {label}: {result.per_request:,.0f} instructions per request", flush=True)
    return result


def valgrind_prefix(valgrind: str, out_dir: Path, tag: str) -> list[str]:
    return [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",  # counting starts once the warm-up requests are answered
        f"--callgrind-out-file={out_dir}/callgrind.{tag}.%p",
    ]


def render(counts: list[Count], args: argparse.Namespace, machine: dict[str, str]) -> str:
    lines = [
        f"## Instruction counts {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *(f"- {k}: {v}" for k, v in machine.items()),
        f"- Requests: {args.requests} counted (after {WARMUP_REQUESTS} uncounted) over "
        f"{args.concurrency} keep-alive connections; one uvicorn worker each, under "
        "valgrind --tool=callgrind",
        "",
        "| Target | Instructions per request |",
        "|---|---:|",
        *(f"| {c.label} | {c.per_request:,.0f} |" for c in counts),
        "",
    ]
    if len(counts) == 2:
        b, c = counts
        lines += [
            f"(c) executes {c.per_request - b.per_request:+,.0f} instructions per request "
            f"beyond (b); (b)/(c) = {b.per_request / c.per_request:.1%}: at equal "
            "instruction throughput, (c) would reach that share of (b)'s requests/s.",
            "",
        ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Instructions per request of (b) and (c).")
    parser.add_argument("--requests", type=int, default=2000, help="requests counted")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--keep-logs", action="store_true", help="keep logs and dumps")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run.READY_TIMEOUT_S = 600  # start-up under valgrind on a busy machine takes minutes
    try:
        valgrind = ensure_tool("valgrind", "valgrind")
        callgrind_control = ensure_tool("callgrind_control", "valgrind")
        machine = machine_info(None)
        with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
            upstream = start_upstream(procs)
            floor = start_passthrough(procs, upstream, 1, valgrind_prefix(valgrind, tmp, "b"))
            data_dir = tmp / "authrelay-data"
            data_dir.mkdir()
            authrelay = start_authrelay(procs, data_dir, 1, valgrind_prefix(valgrind, tmp, "c"))
            try:
                headers = setup_connected_account(authrelay, data_dir, upstream)
            except ProxyUnavailable as exc:
                raise HarnessError(f"authrelay's proxy is not available: {exc}") from exc
            print(f"counting {args.requests} requests per target:", flush=True)
            targets = [
                (floor, "b", "(b) pass-through", floor.url + REQUEST_PATH),
                (authrelay, "c", "(c) authrelay", authrelay.url + "/proxy" + REQUEST_PATH),
            ]
            counts = [
                count(server, tag, label, url, headers, args, callgrind_control, tmp)
                for server, tag, label, url in targets
            ]
    except HarnessError as exc:
        print(f"instruction count failed: {exc}", file=sys.stderr)
        return 1
    text = render(counts, args, machine)
    print()
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
