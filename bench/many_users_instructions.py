"""Instructions per proxied request for the same identifier on every request and for a
random identifier per request over N accounts (nearly every one a cache miss), counted by
callgrind in one authrelay worker: the many-users comparison of bench/many_users.py without
timing noise. On SQLite the database work runs inside the worker and is counted; on
PostgreSQL the database server's own work is not.

    .venv/bin/python bench/many_users_instructions.py [--accounts 100000] [--requests 2000]
    scripts/with-postgres .venv/bin/python bench/many_users_instructions.py --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
from backends import make_backend, seed_all
from instructions import WARMUP_REQUESTS, _control, _totals, valgrind_prefix
from run import (
    REQUEST_PATH,
    HarnessError,
    ensure_tool,
    machine_info,
    running,
    setup_connected_account,
    start_authrelay,
    start_upstream,
    work_dir,
)
from seed import drop_caches, identifier


async def _send(url: str, headers: list[dict[str, str]], concurrency: int) -> None:
    """One GET per entry of `headers`, over `concurrency` keep-alive connections; 200 each."""
    queue = list(reversed(headers))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:

        async def worker() -> None:
            while queue:
                sent = queue.pop()
                async with session.get(url, headers=sent) as response:
                    await response.read()
                    if response.status != 200:
                        raise HarnessError(f"{url} answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def count(
    pid: int, url: str, headers: list[dict[str, str]], tool: str, out: Path, tag: str, n: int
) -> float:
    _control(tool, "--zero", str(pid))
    _control(tool, "--instr=on", str(pid))
    asyncio.run(_send(url, headers, n))
    _control(tool, "--instr=off", str(pid))
    _control(tool, "--dump", str(pid))
    return _totals(out, tag, pid) / len(headers)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Instructions per request: same vs random.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run.READY_TIMEOUT_S = 600  # start-up under valgrind on a busy machine takes minutes
    try:
        valgrind = ensure_tool("valgrind", "valgrind")
        tool = ensure_tool("callgrind_control", "valgrind")
        with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
            backend = make_backend(args.database, tmp / "data")
            backend.export()
            upstream = start_upstream(procs)
            server = start_authrelay(
                procs, backend.data_dir, 1, valgrind_prefix(valgrind, tmp, "c")
            )
            headers = setup_connected_account(server, backend.data_dir, upstream)
            seed_all(backend, args.accounts)
            url = server.url + "/proxy" + REQUEST_PATH
            pid = server.process.pid
            asyncio.run(_send(url, [headers] * WARMUP_REQUESTS, args.concurrency))
            same = count(pid, url, [headers] * args.requests, tool, tmp, "c", args.concurrency)
            print(f"  same identifier: {same:,.0f} instructions per request", flush=True)
            drop_caches(backend.resolved_url)
            asyncio.run(asyncio.sleep(3))  # the worker polls the generation and drops caches
            picks = random.Random(7).sample(range(args.accounts), args.requests)
            rand = [{**headers, "identifier": identifier(i)} for i in picks]
            random_cost = count(pid, url, rand, tool, tmp, "c", args.concurrency)
            print(f"  random identifier: {random_cost:,.0f} instructions per request", flush=True)
    except HarnessError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    print()
    for key, value in machine_info(None).items():
        print(f"- {key}: {value}")
    print(
        f"\n| {args.database}, {args.accounts:,} accounts | instructions per request |\n"
        f"|---|---:|\n| same identifier | {same:,.0f} |\n"
        f"| random identifier, {args.requests:,} distinct (cold cache) | {random_cost:,.0f} |\n"
        f"\nsame / random = {same / random_cost:.1%} (the share of the same-identifier "
        "throughput random identifiers reach at equal instruction throughput)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
