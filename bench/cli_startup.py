"""CLI start-up benchmark: `authrelay --help`, and `authrelay providers list` against a
server holding 10,000 custom providers (seeded straight into its database).

Each command runs as a fresh process, rounds interleaved with a bare `python -c pass`;
the report gives the median wall time and the median CPU time (user + system of the
command's process, steadier than wall time while other processes load the machine).
`--compare-src DIR` also runs the same commands with DIR (another checkout's `src/`) first
on PYTHONPATH, e.g. the code before a change.

    .venv/bin/python bench/cli_startup.py [--db sqlite|postgres] [--providers 10000]
                                          [--rounds 5] [--repeat 3] [--compare-src DIR]

Targets (issue 10): `--help` under 0.3 s; `providers list` of 10,000 providers under 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import api_key_provider, backends, call, instance, machine, med

HELP_TARGET_S = 0.3
LIST_TARGET_S = 1.5


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{argv}: {proc.stdout[-500:]!r} {proc.stderr[-500:]!r}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


async def _seed_providers(url: str, count: int, definition: dict[str, object]) -> None:
    import secrets
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from authrelay.store.db import create_engine
    from authrelay.store.models import Environment, Provider

    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        env_id = await conn.scalar(select(Environment.id).where(Environment.name == "dev"))
        rows = [
            {
                "id": f"prv_{secrets.token_hex(10)}",
                "environment_id": env_id,
                "identifier": f"bench{i:06d}",
                "display_name": f"Bench {i:06d}",
                "definition": {**definition, "display_name": f"Bench {i:06d}"},
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 1000):  # one multi-row INSERT per 1000 rows
            await conn.execute(insert(Provider).values(rows[start : start + 1000]))
    await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--providers", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare-src", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    python = sys.executable
    kind = backends(args.db)[0]
    with (
        tempfile.TemporaryDirectory(prefix="authrelay-cli-") as tmp,
        instance(kind, Path(tmp) / "data") as inst,
    ):
        with inst.api() as api:
            made = call(api, "POST", "/api/v1/custom-providers", 201, json=api_key_provider("C"))
        definition = {
            k: made["provider"][k]
            for k in ("display_name", "auth_patterns", "proxy_url", "proxy_enabled")
        }
        asyncio.run(_seed_providers(inst.sqlalchemy_url, args.providers - 1, definition))
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("AUTHRELAY_", "SCALEKIT_"))
        }
        base.update(
            {
                "AUTHRELAY_CONFIG_DIR": str(Path(tmp) / "cfg"),
                "SCALEKIT_ENVIRONMENT_URL": inst.url,
                "SCALEKIT_CLIENT_ID": inst.client["client_id"],
                "SCALEKIT_CLIENT_SECRET": inst.client["client_secret"],
                "COLUMNS": "160",
            }
        )
        variants = {"this code": base}
        if args.compare_src:
            variants["compared"] = {**base, "PYTHONPATH": str(args.compare_src.resolve())}
        commands = {
            "python -c pass (floor)": [python, "-c", "pass"],
            "authrelay --help": [python, "-m", "authrelay", "--help"],
            f"authrelay providers list ({args.providers:,} providers)": [
                python, "-m", "authrelay", "providers", "list",
            ],
        }  # fmt: skip
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for variant, env in variants.items():
                for name, command in commands.items():
                    for _ in range(args.repeat):
                        samples.setdefault((variant, name), []).append(timed(command, env))
    lines = [
        "### CLI start-up",
        "",
        *[f"- {k}: {v}" for k, v in machine().items()],
        f"- {args.rounds} rounds x {args.repeat} runs per command, interleaved; {kind} server",
        "",
        "| code | command | wall median (s) | CPU median (s) | target |",
        "|---|---|---|---|---|",
    ]
    for (variant, name), values in samples.items():
        wall = med([w for w, _ in values])
        cpu = med([c for _, c in values])
        target = ""
        if variant == "this code" and name == "authrelay --help":
            target = _verdict(wall, cpu, HELP_TARGET_S)
        elif variant == "this code" and name.startswith("authrelay providers list"):
            target = _verdict(wall, cpu, LIST_TARGET_S)
        lines.append(f"| {variant} | `{name}` | {wall:.3f} | {cpu:.3f} | {target} |")
    text = "\n".join([*lines, ""])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


def _verdict(wall: float, cpu: float, goal: float) -> str:
    return (
        f"< {goal} s: wall {'met' if wall < goal else '**not met**'}, "
        f"CPU {'met' if cpu < goal else '**not met**'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
