"""MCP benchmarks (docs/benchmarks.md, "MCP"): what an MCP `tools/call` adds over the same
call through `POST /api/v1/execute_tool` at one connection, and `tools/list` with 2,000
tools served by one MCP config.

    .venv/bin/python bench/mcp_server.py [--rounds 7] [--requests 300] [--tools 2000]
                                         [--instructions] [--out FILE]

The server, its tools and the MCP config come from bench/tool_setup.py (shared with
bench/tools.py). The MCP requests are what a client sends on the stateless Streamable HTTP
endpoint: one JSON-RPC POST per call (`MCP-Protocol-Version: 2025-06-18`, JSON answers).
Latencies are taken in interleaved rounds (execute_tool, tools/call, then tools/list, in
each round); the medians of the rounds' p50s are reported. With `--instructions` the
server runs under callgrind and the instructions per request of execute_tool and tools/call
are counted (bench/instructions.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from run import HarnessError
from tool_setup import (
    TOOL,
    Call,
    add_tools,
    count_instructions,
    execute_body,
    interleaved,
    machine_load,
    mcp_config,
    tool_bench,
)

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}


def _rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def calls(api: httpx.Client, url: str, token: str) -> dict[str, Call]:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    call = _rpc("tools/call", {"name": TOOL, "arguments": {"x": "1"}})
    listing = _rpc("tools/list", {})
    body = execute_body()
    return {
        "execute_tool": lambda: api.post("/api/v1/execute_tool", json=body),
        "MCP tools/call": lambda: api.post(url, json=call, headers=headers),
        "MCP tools/list": lambda: api.post(url, json=listing, headers=headers),
    }


def check(named: dict[str, Call], tools: int) -> None:
    answer = named["MCP tools/call"]().json()
    if answer.get("result", {}).get("isError") is not False:
        raise HarnessError(f"tools/call failed: {json.dumps(answer)[:300]}")
    listed = named["MCP tools/list"]().json().get("result", {}).get("tools", [])
    if len(listed) != tools:
        raise HarnessError(f"tools/list gave {len(listed)} tools, not {tools}")


def render(latency: dict[str, list[float]], tools: int, load: str) -> str:
    med = statistics.median
    execute, call = latency["execute_tool"], latency["MCP tools/call"]
    diffs = [b - a for a, b in zip(execute, call, strict=True)]
    lines = [
        f"Machine at the start: {load}.",
        "",
        "| measure | result |",
        "|---|---:|",
        f"| MCP `tools/call` − `execute_tool`, p50 at 1 connection (median of "
        f"{len(diffs)} rounds) | {med(diffs):.2f} ms (execute_tool {med(execute):.2f}, "
        f"tools/call {med(call):.2f}) |",
        f"| MCP `tools/list`, {tools:,} tools, p50 | {med(latency['MCP tools/list']):.2f} ms |",
    ]
    return "\n".join(lines)


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
            tools = 1 if args.instructions else args.tools
            add_tools(bench.api, tools)
            url, token = mcp_config(bench.api)
            named = calls(bench.api, url, token)
            check(named, tools)
            if args.instructions:
                pair = {k: named[k] for k in ("execute_tool", "MCP tools/call")}
                counts = count_instructions(
                    bench.server.process.pid, bench.tmp, pair, args.requests
                )
                diff = counts["MCP tools/call"] - counts["execute_tool"]
                text = "\n".join(
                    ["| call | instructions per request |", "|---|---:|"]
                    + [f"| {k} | {v:,.0f} |" for k, v in counts.items()]
                    + [f"| tools/call − execute_tool | {diff:+,.0f} |"]
                )
            else:
                sizes = {"execute_tool": args.requests, "MCP tools/call": args.requests,
                         "MCP tools/list": max(args.requests // 10, 20)}  # fmt: skip
                latency = interleaved(named, args.rounds, sizes)
                text = render(latency, tools, load) + "\n\nraw: " + json.dumps(latency)
    except HarnessError as exc:
        print(f"MCP benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
