"""Tools benchmarks (docs/benchmarks.md, "Tools"): what `execute_tool` adds over the same
call through `/proxy` at one connection, `GET /api/v1/tools` with 2,000 tools, and importing
a 500-operation OpenAPI document.

    .venv/bin/python bench/tools.py [--rounds 7] [--requests 300] [--tools 2000]
                                    [--instructions] [--out FILE]

The server and its tools come from bench/tool_setup.py (shared with bench/mcp_server.py).
Latencies are taken in interleaved rounds (proxy, execute_tool, then each list, in each
round) and the medians of the rounds' p50s are reported, as in bench/run.py. With
`--instructions` the server runs under callgrind and the instructions per request of both
calls are counted (free of timing noise; bench/instructions.py explains the method).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from run import REQUEST_PATH, HarnessError
from tool_setup import (
    Call,
    ToolBench,
    add_tools,
    count_instructions,
    execute_body,
    interleaved,
    machine_load,
    tool_bench,
)

from authrelay.tools.generate import generate_tools, load_document

IMPORT_PROVIDER = "github"  # a built-in provider: the import lands beside its tools
STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
THING = {"$ref": "#/components/schemas/Thing"}


def synthetic_document(operations: int) -> dict[str, Any]:
    """An OpenAPI 3.0 document with `operations` operations, parameters, `$ref` bodies
    and a recursive schema, shaped like a large real API."""
    paths: dict[str, Any] = {}
    for i in range(operations // 2):
        paths[f"/things{i}/{{thing_id}}"] = {
            "parameters": [{"$ref": "#/components/parameters/ThingId"}],
            "get": {
                "operationId": f"getThing{i}",
                "summary": f"Read thing {i}",
                "tags": [f"group{i % 10}"],
                "parameters": [
                    {"name": "expand", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "fields", "in": "query", "schema": STRINGS},
                ],
            },
            "put": {
                "operationId": f"updateThing{i}",
                "summary": f"Replace thing {i}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": THING}},
                },
            },
        }  # fmt: skip
    return {
        "openapi": "3.0.3",
        "info": {"title": "Synthetic", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {
            "parameters": {
                "ThingId": {"name": "thing_id", "in": "path", "required": True, "schema": STRING}
            },
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 200},
                        "count": {"type": "integer", "minimum": 0},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "parent": {"$ref": "#/components/schemas/Thing"},
                        "state": {"type": "string", "enum": ["on", "off"], "nullable": True},
                    },
                }
            },
        },
    }  # fmt: skip


def measure_import(api: httpx.Client, operations: int) -> dict[str, float]:
    """Seconds for each step of `tools import-openapi` on a synthetic document."""
    raw = json.dumps(synthetic_document(operations)).encode()
    t0 = time.perf_counter()
    doc = load_document(raw)
    generated = generate_tools(doc, IMPORT_PROVIDER, proxy_url="https://api.example.com")
    t1 = time.perf_counter()
    body = {"provider": IMPORT_PROVIDER, "tools": generated.tools, "source": "openapi",
            "prune": "source"}  # fmt: skip
    plan = api.post("/api/v1/tools:sync", json={**body, "dry_run": True}, timeout=120)
    t2 = time.perf_counter()
    applied = api.post("/api/v1/tools:sync", json=body, timeout=120)
    t3 = time.perf_counter()
    if plan.status_code != 200 or applied.status_code != 200:
        raise HarnessError(f"import failed: {plan.text[:200]} {applied.text[:200]}")
    created = len(applied.json()["created"])
    if created != operations:
        raise HarnessError(f"the import created {created} tools, not {operations}")
    return {"generate": t1 - t0, "plan": t2 - t1, "apply": t3 - t2, "total": t3 - t0}


def calls(bench: ToolBench) -> dict[str, Call]:
    api, headers, body = bench.api, bench.proxy_headers, execute_body()
    return {
        "/proxy": lambda: api.get("/proxy" + REQUEST_PATH, headers=headers),
        "execute_tool": lambda: api.post("/api/v1/execute_tool", json=body),
    }


def list_calls(api: httpx.Client) -> dict[str, Call]:
    return {
        "GET /api/v1/tools (page of 50)": lambda: api.get("/api/v1/tools"),
        "GET /api/v1/tools?page_size=1000": lambda: api.get("/api/v1/tools?page_size=1000"),
        "GET /api/v1/tools?filter.query=…": lambda: api.get(
            "/api/v1/tools", params={"filter.query": "reads one"}
        ),
    }


def render(
    latency: dict[str, list[float]], tools: int, imported: dict[str, float], load: str
) -> str:
    med = statistics.median
    diffs = [b - a for a, b in zip(latency["/proxy"], latency["execute_tool"], strict=True)]
    lines = [
        f"| `execute_tool` − `/proxy`, p50 at 1 connection (median of {len(diffs)} rounds) | "
        f"{med(diffs):.2f} ms (proxy {med(latency['/proxy']):.2f}, execute_tool "
        f"{med(latency['execute_tool']):.2f}) |",
    ]
    for name, values in latency.items():
        if name.startswith("GET"):
            lines.append(f"| {name}, {tools:,} tools, p50 | {med(values):.2f} ms |")
    lines.append(
        f"| import of 500 operations: generate {imported['generate']:.2f} s, plan "
        f"{imported['plan']:.2f} s, apply {imported['apply']:.2f} s | {imported['total']:.2f} s |"
    )
    return "\n".join([f"Machine at the start: {load}.", "", "| measure | result |",
                      "|---|---:|", *lines])  # fmt: skip


def render_counts(counts: dict[str, float]) -> str:
    lines = [f"| {label} | {value:,.0f} |" for label, value in counts.items()]
    proxy, execute = counts["/proxy"], counts["execute_tool"]
    lines.append(f"| execute_tool − /proxy | {execute - proxy:+,.0f} |")
    return "\n".join(["| call | instructions per request |", "|---|---:|", *lines])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    try:
        with tool_bench(args.instructions) as bench:
            load = machine_load()
            if args.instructions:
                add_tools(bench.api, 1)
                counts = count_instructions(
                    bench.server.process.pid, bench.tmp, calls(bench), args.requests
                )
                text = render_counts(counts)
            else:
                add_tools(bench.api, args.tools)
                total = bench.api.get("/api/v1/tools?page_size=1").json()["total_size"]
                named = {**calls(bench), **list_calls(bench.api)}
                sizes = {k: args.requests if k in ("/proxy", "execute_tool") else
                         max(args.requests // 10, 20) for k in named}  # fmt: skip
                latency = interleaved(named, args.rounds, sizes)
                imported = measure_import(bench.api, 500)
                text = render(latency, total, imported, load)
                text += "\n\nraw: " + json.dumps({"latency": latency, "import": imported})
    except HarnessError as exc:
        print(f"tools benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
