"""What one route lookup costs in the proxy, in-process: a cache hit, a miss for a known
account, a miss for an unknown identifier, each through `proxy.resolve.cached_route` (the
real cache, the real query, decryption and route building), with N seeded accounts.
Optionally profiles the misses (cProfile) to show where their time goes.

    .venv/bin/python bench/miss_cost.py [--accounts 100000] [--lookups 2000] [--profile]
    scripts/with-postgres .venv/bin/python bench/miss_cost.py --database postgres

Wall-clock per lookup, median of interleaved batches (hit, miss, unknown, hit, ...); one
process, no HTTP, so it isolates the miss path from the rest of a proxied call.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import make_backend, seed_all
from run import (
    CONNECTION_NAME,
    IDENTIFIER,
    HarnessError,
    running,
    setup_connected_account,
    start_authrelay,
    start_upstream,
    work_dir,
)
from seed import identifier

from authrelay.config import Settings
from authrelay.errors import NotFound
from authrelay.proxy.resolve import cached_route
from authrelay.runtime import Runtime, create_runtime
from authrelay.store.environments import get_environment


async def _batch(runtime: Runtime, env_id: str, names: list[str], unknown: bool) -> float:
    """Seconds per lookup over `names`."""
    began = time.perf_counter()
    for name in names:
        try:
            await cached_route(runtime, (env_id, CONNECTION_NAME, name))
        except NotFound:
            if not unknown:
                raise
    return (time.perf_counter() - began) / len(names)


async def measure(
    settings: Settings, accounts: int, lookups: int, rounds: int, profile: bool
) -> str:
    runtime = await create_runtime(settings)
    try:
        async with runtime.sessions() as session:
            env = await get_environment(session, "dev")
        assert env is not None
        rng = random.Random(1)
        known = rng.sample(range(accounts), min(accounts, lookups * (rounds + 1)))
        results: dict[str, list[float]] = {
            "hit": [],
            "miss (known account)": [],
            "miss (unknown)": [],
        }
        await _batch(runtime, env.id, [IDENTIFIER] * 100, False)  # warm-up
        for rnd in range(rounds):
            part = known[rnd * lookups : (rnd + 1) * lookups]
            if len(part) < lookups:
                raise HarnessError("--accounts must be at least --lookups x (--rounds + 1)")
            names = [identifier(i) for i in part]
            strangers = [f"nobody{rnd}-{i}@example.com" for i in range(lookups)]
            results["hit"].append(await _batch(runtime, env.id, [IDENTIFIER] * lookups, False))
            results["miss (known account)"].append(await _batch(runtime, env.id, names, False))
            results["miss (unknown)"].append(await _batch(runtime, env.id, strangers, True))
        lines = [
            "| Lookup | µs per lookup (median) | range over rounds |",
            "|---|---:|---:|",
        ]
        for label, values in results.items():
            lines.append(
                f"| {label} | {median(values) * 1e6:,.0f} "
                f"| {min(values) * 1e6:,.0f}–{max(values) * 1e6:,.0f} |"
            )
        text = "\n".join(lines)
        if profile:
            part = known[rounds * lookups : (rounds + 1) * lookups]
            profiler = cProfile.Profile()
            profiler.enable()
            await _batch(runtime, env.id, [identifier(i) for i in part], False)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
            text += "\n\nProfile of the known-account misses (cumulative):\n" + out.getvalue()
        return text
    finally:
        await runtime.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Cost of a proxy route lookup, hit and miss.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000, help="lookups per batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the misses")
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
            backend = make_backend(args.database, tmp / "data")
            backend.export()
            upstream = start_upstream(procs)
            server = start_authrelay(procs, backend.data_dir, 1)
            setup_connected_account(server, backend.data_dir, upstream)
            procs.stop(server)
            seed_all(backend, args.accounts)
            settings = Settings(
                data_dir=backend.data_dir,
                database_url=backend.database_url,
                upstream_allowlist="127.0.0.1/32,localhost",
                log_level="WARNING",
            )
            text = asyncio.run(
                measure(settings, args.accounts, args.lookups, args.rounds, args.profile)
            )
    except Exception as exc:  # the harness failed: say why
        print(f"miss_cost failed: {exc!r}", file=sys.stderr)
        raise
    print(f"{args.database}, {args.accounts:,} accounts:\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
