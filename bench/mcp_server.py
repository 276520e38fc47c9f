"""MCP benchmarks (docs/benchmarks.md, "MCP"): what an MCP `tools/call` adds over the same
call through `POST /api/v1/execute_tool` at one connection, and `tools/list` with 2,000
tools served by one MCP config.

    .venv/bin/python bench/mcp_server.py [--rounds 7] [--requests 300] [--instructions] [--out FILE]

The MCP requests are what a client sends on the stateless Streamable HTTP endpoint: one
JSON-RPC POST per call (`MCP-Protocol-Version: 2025-06-18`, JSON answers). Latencies are
taken in interleaved rounds (execute_tool, then tools/call, in each round); the medians of
the rounds' p50s are reported. With `--instructions` the server runs under callgrind and
the instructions per request of both calls are counted (bench/instructions.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from instructions import _control, _totals, valgrind_prefix
from run import (
    CONNECTION_NAME,
    IDENTIFIER,
    LOCALHOST,
    PROVIDER_IDENTIFIER,
    VENV_BIN,
    HarnessError,
    Processes,
    Server,
    ensure_tool,
    free_port,
    running,
    setup_connected_account,
    start_upstream,
    wait_ready,
    work_dir,
)

from tools import TOOL, _execute_body, _p50, _timed, _tool_body, create_tool

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}


def start_authrelay(procs: Processes, data_dir: Path, prefix: Sequence[str]) -> Server:
    """One worker, allowed 2,000 tools per provider (bench/tools.py's, plus that)."""
    port = free_port()
    argv = [*prefix, str(VENV_BIN / "authrelay"), "serve", "--port", str(port),
            "--data-dir", str(data_dir), "--workers", "1"]  # fmt: skip
    env = {"AUTHRELAY_UPSTREAM_ALLOWLIST": f"{LOCALHOST}/32,localhost",
           "AUTHRELAY_MAX_TOOLS_PER_PROVIDER": "5000"}  # fmt: skip
    server = procs.start("authrelay-w1", f"http://{LOCALHOST}:{port}", argv, env)
    wait_ready(server, "/readyz", 600.0)
    return server


def setup_config(api: httpx.Client, tools: int) -> tuple[str, str]:
    """(MCP URL, session token) of a config serving the benchmark connection, whose provider
    then has `tools` tools."""
    create_tool(api)
    extra = [_tool_body(f"{PROVIDER_IDENTIFIER}_bench_{i}", PROVIDER_IDENTIFIER)
             for i in range(tools - 1)]  # fmt: skip
    if extra:
        body = {"provider": PROVIDER_IDENTIFIER, "tools": [*extra], "prune": "none"}
        synced = api.post("/api/v1/tools:sync", json=body, timeout=300)
        if synced.status_code != 200:
            raise HarnessError(f"sync failed: {synced.text[:300]}")
    made = api.post(
        "/api/v1/mcp/configs",
        json={"name": "bench", "connection_tool_mappings": [{"connection_name": CONNECTION_NAME}]},
    )
    if made.status_code != 201:
        raise HarnessError(f"creating the MCP config failed: {made.text[:300]}")
    config = made.json()["config"]
    token = api.post(
        f"/api/v1/mcp/configs/{config['id']}/tokens",
        json={"identifier": IDENTIFIER, "expiry": "86400s"},
    )
    if token.status_code != 200:
        raise HarnessError(f"the MCP token failed: {token.text[:300]}")
    return str(config["mcp_server_url"]), str(token.json()["token"])


def _rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def calls(api: httpx.Client, url: str, token: str) -> dict[str, Callable[[], httpx.Response]]:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    call = _rpc("tools/call", {"name": TOOL, "arguments": {"x": "1"}})
    listing = _rpc("tools/list", {})
    body = _execute_body()
    return {
        "execute_tool": lambda: api.post("/api/v1/execute_tool", json=body),
        "MCP tools/call": lambda: api.post(url, json=call, headers=headers),
        "MCP tools/list": lambda: api.post(url, json=listing, headers=headers),
    }


def check(named: dict[str, Callable[[], httpx.Response]]) -> None:
    answer = named["MCP tools/call"]().json()
    if answer.get("result", {}).get("isError") is not False:
        raise HarnessError(f"tools/call failed: {json.dumps(answer)[:300]}")


def measure(named: dict[str, Callable[[], httpx.Response]], rounds: int, n: int) -> dict[str, Any]:
    execute, call, listing = (named[k] for k in ("execute_tool", "MCP tools/call",
                                                 "MCP tools/list"))  # fmt: skip
    _timed(execute, 100)
    _timed(call, 100)
    p_exec, p_call, diffs, p_list = [], [], [], []
    for _ in range(rounds):
        a = _p50(_timed(execute, n))
        b = _p50(_timed(call, n))
        p_exec.append(a)
        p_call.append(b)
        diffs.append(b - a)
        p_list.append(_p50(_timed(listing, max(n // 10, 20))))
    return {"execute_p50_ms": p_exec, "call_p50_ms": p_call, "diff_ms": diffs,
            "list_p50_ms": p_list}  # fmt: skip


def count_instructions(
    pid: int, out_dir: Path, named: dict[str, Callable[[], httpx.Response]], n: int
) -> dict[str, float]:
    control = ensure_tool("callgrind_control", "valgrind")
    out = {}
    for label in ("execute_tool", "MCP tools/call"):
        call = named[label]
        _timed(call, 100)
        _control(control, "--zero", str(pid))
        _control(control, "--instr=on", str(pid))
        _timed(call, n)
        _control(control, "--instr=off", str(pid))
        _control(control, "--dump", str(pid))
        time.sleep(1)
        out[label] = _totals(out_dir, "t", pid) / n
    return out


def render(latency: dict[str, Any], tools: int) -> str:
    med = statistics.median
    lines = [
        "| measure | result |",
        "|---|---:|",
        f"| MCP `tools/call` − `execute_tool`, p50 at 1 connection (median of "
        f"{len(latency['diff_ms'])} rounds) | {med(latency['diff_ms']):.2f} ms (execute_tool "
        f"{med(latency['execute_p50_ms']):.2f}, tools/call {med(latency['call_p50_ms']):.2f}) |",
        f"| MCP `tools/list`, {tools:,} tools, p50 | {med(latency['list_p50_ms']):.2f} ms |",
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
        with work_dir(False) as tmp, running(tmp) as procs:
            upstream = start_upstream(procs)
            data_dir = tmp / "authrelay-data"
            data_dir.mkdir()
            prefix: list[str] = []
            if args.instructions:
                prefix = valgrind_prefix(ensure_tool("valgrind", "valgrind"), tmp, "t")
            authrelay = start_authrelay(procs, data_dir, prefix)
            headers = setup_connected_account(authrelay, data_dir, upstream)
            with httpx.Client(base_url=authrelay.url, timeout=60) as api:
                api.headers["Authorization"] = headers["Authorization"]
                tools = 1 if args.instructions else args.tools
                url, token = setup_config(api, tools)
                named = calls(api, url, token)
                check(named)
                if args.instructions:
                    counts = count_instructions(authrelay.process.pid, tmp, named, args.requests)
                    diff = counts["MCP tools/call"] - counts["execute_tool"]
                    text = "\n".join(
                        ["| call | instructions per request |", "|---|---:|"]
                        + [f"| {k} | {v:,.0f} |" for k, v in counts.items()]
                        + [f"| tools/call − execute_tool | {diff:+,.0f} |"]
                    )
                else:
                    latency = measure(named, args.rounds, args.requests)
                    text = render(latency, tools) + "\n\nraw: " + json.dumps(latency)
    except HarnessError as exc:
        print(f"MCP benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
