"""Large-tables benchmark: list and search latency at 1,000 / 10,000 / 100,000 rows.

For each size, a server on its own fresh store holds that many connected accounts (four
connections of two custom providers; 20 "needle" identifiers spread through them) and that
many custom providers, seeded straight into the database (the triggers keep the counts and
the search index as API writes would). Every round asks each page of every size in turn
(interleaved, so load from other processes falls on all sizes alike); the report gives the
median latency per page and the ratio of the largest size to the smallest.

    .venv/bin/python bench/tables.py [--db sqlite|postgres|both] [--sizes 1000,10000,100000]
                                     [--rounds 5] [--repeat 5] [--out FILE]
    scripts/with-postgres .venv/bin/python bench/tables.py --db both

Targets (issue 10): every page at the largest size within 1.5x of the same page at the
smallest; the needle search at 100,000 accounts under 50 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import (
    api_key_provider,
    backends,
    call,
    group_cpu_seconds,
    instance,
    machine,
    med,
)

from authrelay.pagination import encode_cursor

PAGE = 50
NEEDLES = 20
MAX_RATIO = 1.5
MAX_SEARCH_P50_MS = 50.0


@dataclass
class World:
    """What one size's pages need: the instance, its connections and the middle tokens."""

    size: int
    url: str
    token: str
    pgid: int
    pages: dict[str, tuple[str, dict[str, Any]]]


async def _seed(url: str, env_id: str, conns: list[str], size: int, definition: Any) -> None:
    from sqlalchemy import insert, text

    from authrelay.store.db import create_engine
    from authrelay.store.models import ConnectedAccount, Provider

    engine = create_engine(url)
    now = datetime.now(UTC)
    needles = {round(size * (k + 0.5) / NEEDLES): k for k in range(NEEDLES)}
    batch = 1000  # one multi-row INSERT each: the count triggers fire once per statement
    async with engine.begin() as conn:
        for start in range(0, size, batch):
            rows = []
            for i in range(start, min(size, start + batch)):
                identifier = (
                    f"needle{needles[i]}@corp.example"
                    if i in needles
                    else f"user{i:06d}@example{i % 50}.com"
                )
                rows.append(
                    {
                        "id": f"ca_{secrets.token_hex(10)}",
                        "environment_id": env_id,
                        "connection_id": conns[i % 4],
                        "identifier": identifier,
                        "organization_id": f"org_{i % 2}",
                        "user_id": f"u{(i // 4) % 4}",
                        "status": "ACTIVE",
                        "authorization_type": "API_KEY",
                        "details": {},
                        "api_config": {},
                        "token_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            await conn.execute(insert(ConnectedAccount).values(rows))
        for start in range(0, size, batch):
            providers = [
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
                for i in range(start, min(size, start + batch))
            ]
            await conn.execute(insert(Provider).values(providers))
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def _positions(url: str, env_id: str) -> list[tuple[int, str, str | None, str | None]]:
    from sqlalchemy import select

    from authrelay.store.db import create_engine
    from authrelay.store.models import ConnectedAccount

    engine = create_engine(url)
    async with engine.connect() as conn:
        result = await conn.execute(
            select(
                ConnectedAccount.seq,
                ConnectedAccount.connection_id,
                ConnectedAccount.organization_id,
                ConnectedAccount.user_id,
            )
            .where(ConnectedAccount.environment_id == env_id)
            .order_by(ConnectedAccount.seq)
        )
        rows = [(int(a), str(b), c, d) for a, b, c, d in result]
    await engine.dispose()
    return rows


async def _provider_seqs(url: str, env_id: str) -> list[int]:
    from sqlalchemy import select

    from authrelay.store.db import create_engine
    from authrelay.store.models import Provider

    engine = create_engine(url)
    async with engine.connect() as conn:
        result = await conn.execute(
            select(Provider.seq).where(Provider.environment_id == env_id).order_by(Provider.seq)
        )
        seqs = [int(s) for (s,) in result]
    await engine.dispose()
    return seqs


def build(inst: Any, size: int) -> World:
    with inst.api() as api:
        keys = [
            call(api, "POST", "/api/v1/custom-providers", 201, json=api_key_provider(f"P{k}"))
            for k in ("A", "B")
        ]
        idents = [k["provider"]["identifier"] for k in keys]
        conns = []
        for n in range(4):
            body = {"provider_key": idents[n // 2], "key_id": f"c{n}"}
            made = call(
                api, "POST", "/api/v1/connections", 201, params={"flags.is_app": "true"}, json=body
            )
            conns.append(made["connection"]["id"])
        env_id = _env_id(inst)
        definition = keys[0]["provider"]
        definition = {
            k: definition[k]
            for k in ("display_name", "auth_patterns", "proxy_url", "proxy_enabled")
            if k in definition
        }
    asyncio.run(_seed(inst.sqlalchemy_url, env_id, conns, size, definition))
    rows = asyncio.run(_positions(inst.sqlalchemy_url, env_id))
    provider_seqs = asyncio.run(_provider_seqs(inst.sqlalchemy_url, env_id))

    def middle(keep: Callable[[tuple[int, str, str | None, str | None]], bool]) -> str:
        chosen = [r[0] for r in rows if keep(r)]
        return encode_cursor(chosen[len(chosen) // 2])

    accounts = "/api/v1/connected_accounts"
    base = {"page_size": PAGE}
    filters: dict[str, tuple[dict[str, Any], Callable[[Any], bool]]] = {
        "all": ({}, lambda r: True),
        "connector": ({"connector": "c0"}, lambda r: r[1] == conns[0]),
        "provider": ({"provider": idents[0]}, lambda r: r[1] in conns[:2]),
        "organization_id": ({"organization_id": "org_0"}, lambda r: r[2] == "org_0"),
        "user_id": ({"user_id": "u1"}, lambda r: r[3] == "u1"),
    }
    pages: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, (params, keep) in filters.items():
        pages[f"accounts {name}, first"] = (accounts, {**base, **params})
        pages[f"accounts {name}, middle"] = (
            accounts,
            {**base, **params, "page_token": middle(keep)},
        )
    pages["accounts identifier"] = (accounts, {**base, "identifier": "user000005@example5.com"})
    pages["search query=needle"] = (accounts, {**base, "query": "needle"})
    pages[":search query=needle"] = (f"{accounts}:search", {**base, "query": "needle"})
    pages["search query=needle7@ (1 match)"] = (accounts, {**base, "query": "needle7@"})
    custom = {"filter.provider_type": "CUSTOM", "page_size": PAGE}
    pages["providers custom, first"] = ("/api/v1/providers", custom)
    mid = provider_seqs[len(provider_seqs) // 2]
    pages["providers custom, middle"] = (
        "/api/v1/providers",
        {**custom, "page_token": encode_cursor({"a": [1, mid]})},
    )
    pages["providers all, first"] = ("/api/v1/providers", {"page_size": PAGE})
    return World(size, inst.url, inst.token(), inst.process.pid, pages)


def _env_id(inst: Any) -> str:
    from sqlalchemy import select

    from authrelay.store.db import create_engine
    from authrelay.store.models import Environment

    async def find() -> str:
        engine = create_engine(inst.sqlalchemy_url)
        async with engine.connect() as conn:
            found = await conn.scalar(select(Environment.id).where(Environment.name == "dev"))
        await engine.dispose()
        return str(found)

    return asyncio.run(find())


Samples = dict[tuple[str, int], list[float]]


def measure(worlds: list[World], rounds: int, repeat: int) -> tuple[Samples, Samples]:
    """Wall latency of every request, and server CPU per request of every batch."""
    import httpx

    samples: Samples = {}
    cpu: Samples = {}
    clients = {
        w.size: httpx.Client(
            base_url=w.url, headers={"Authorization": f"Bearer {w.token}"}, timeout=120
        )
        for w in worlds
    }
    try:
        for w in worlds:  # warm-up: one of each
            for path, params in w.pages.values():
                clients[w.size].get(path, params=params).raise_for_status()
        for _ in range(rounds):
            for w in worlds:
                for name, (path, params) in w.pages.items():
                    used = group_cpu_seconds(w.pgid)
                    for _ in range(repeat):
                        start = time.perf_counter()
                        response = clients[w.size].get(path, params=params)
                        elapsed = (time.perf_counter() - start) * 1000
                        if response.status_code != 200:
                            raise RuntimeError(f"{name}: {response.status_code} {response.text}")
                        samples.setdefault((name, w.size), []).append(elapsed)
                    spent = (group_cpu_seconds(w.pgid) - used) * 1000 / repeat
                    cpu.setdefault((name, w.size), []).append(spent)
    finally:
        for client in clients.values():
            client.close()
    return samples, cpu


def _table(title: str, worlds: list[World], samples: Samples) -> list[str]:
    sizes = [w.size for w in worlds]
    lines = [
        title,
        "",
        "| page | " + " | ".join(f"{s:,} rows" for s in sizes) + " | ratio | target |",
        "|---|" + "---|" * (len(sizes) + 2),
    ]
    for name in worlds[0].pages:
        values = [med(samples[(name, s)]) for s in sizes]
        ratio = values[-1] / values[0] if values[0] else float("inf")
        verdict = "met" if ratio <= MAX_RATIO else "**not met**"
        lines.append(
            f"| {name} | "
            + " | ".join(f"{v:.1f}" for v in values)
            + f" | {ratio:.2f}x | {verdict} |"
        )
    return [*lines, ""]


def render(kind: str, worlds: list[World], samples: Samples, cpu: Samples) -> str:
    sizes = [w.size for w in worlds]
    lines = _table(
        f"#### {kind}: median wall latency per page (ms), page_size {PAGE}", worlds, samples
    )
    lines += _table(
        f"#### {kind}: median authrelay server CPU per page (ms; the database server's own "
        "CPU is not in it for PostgreSQL)",
        worlds,
        cpu,
    )
    search = med(samples[("search query=needle", sizes[-1])])
    verdict = "met" if search < MAX_SEARCH_P50_MS else "**not met**"
    lines += [
        "",
        f"Needle search at {sizes[-1]:,} accounts: p50 {search:.1f} ms "
        f"(target < {MAX_SEARCH_P50_MS:.0f} ms): {verdict}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    info = machine()
    parts = [
        "### Large tables",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        f"- rounds {args.rounds} x {args.repeat} requests per page and size, sizes interleaved",
        "",
    ]
    for kind in backends(args.db):
        with (
            tempfile.TemporaryDirectory(prefix="authrelay-tables-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            worlds = []
            for size in sizes:
                inst = stack.enter_context(instance(kind, Path(tmp) / str(size)))
                started = time.perf_counter()
                worlds.append(build(inst, size))
                print(f"{kind} {size}: built in {time.perf_counter() - started:.0f}s", flush=True)
            samples, cpu = measure(worlds, args.rounds, args.repeat)
            parts.append(render(kind, worlds, samples, cpu))
            print(parts[-1], flush=True)
    text = "\n".join(parts)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
