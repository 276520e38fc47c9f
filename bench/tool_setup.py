"""What the tool benchmarks (bench/tools.py, bench/mcp_server.py) share: a one-worker
authrelay (optionally under callgrind) with `bench/run.py`'s upstream and connected
account, the benchmark's tool bound to its request (`GET /anything/path?x=1`), more tools of
that provider, an MCP config serving its connection with a session token, and the timing and
instruction-counting loops."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
    cpu_busy_fraction,
    ensure_tool,
    free_port,
    load_average,
    running,
    setup_connected_account,
    start_upstream,
    wait_ready,
    work_dir,
)

TOOL = f"{PROVIDER_IDENTIFIER}_anything"
MAX_TOOLS_PER_PROVIDER = 5000
Call = Callable[[], httpx.Response]


@dataclass
class ToolBench:
    """A running authrelay with the benchmark's account; `api` carries its API token."""

    server: Server
    tmp: Path
    api: httpx.Client
    proxy_headers: dict[str, str]


def start_authrelay(procs: Processes, data_dir: Path, prefix: Sequence[str]) -> Server:
    """One worker, allowed 5,000 tools per provider; start-up under callgrind on a loaded
    machine may take minutes."""
    port = free_port()
    argv = [*prefix, str(VENV_BIN / "authrelay"), "serve", "--port", str(port),
            "--data-dir", str(data_dir), "--workers", "1"]  # fmt: skip
    env = {"AUTHRELAY_UPSTREAM_ALLOWLIST": f"{LOCALHOST}/32,localhost",
           "AUTHRELAY_MAX_TOOLS_PER_PROVIDER": str(MAX_TOOLS_PER_PROVIDER)}  # fmt: skip
    server = procs.start("authrelay-w1", f"http://{LOCALHOST}:{port}", argv, env)
    wait_ready(server, "/readyz", 600.0)
    return server


@contextmanager
def tool_bench(instructions: bool) -> Iterator[ToolBench]:
    """The upstream, authrelay (under callgrind with `instructions`) and the connected
    account; everything is stopped and removed on exit."""
    with work_dir(False) as tmp, running(tmp) as procs:
        upstream = start_upstream(procs)
        data_dir = tmp / "authrelay-data"
        data_dir.mkdir()
        prefix: list[str] = []
        if instructions:
            prefix = valgrind_prefix(ensure_tool("valgrind", "valgrind"), tmp, "t")
        authrelay = start_authrelay(procs, data_dir, prefix)
        headers = setup_connected_account(authrelay, data_dir, upstream)
        with httpx.Client(base_url=authrelay.url, timeout=120) as api:
            api.headers["Authorization"] = headers["Authorization"]
            yield ToolBench(authrelay, tmp, api, headers)


def tool_body(name: str, provider: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "definition": {
            "name": name,
            "description": f"Benchmark tool {name}: reads one thing by id",
            "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
        "binding": {"method": "GET", "path": "/anything/path", "params": {"x": {"in": "query"}}},
    }


def add_tools(api: httpx.Client, tools: int) -> None:
    """The benchmark's tool, then `tools - 1` more of its provider (one sync)."""
    done = api.post("/api/v1/tools", json=tool_body(TOOL, PROVIDER_IDENTIFIER))
    if done.status_code != 201:
        raise HarnessError(f"creating the tool failed: {done.text[:300]}")
    extra = [tool_body(f"{PROVIDER_IDENTIFIER}_bench_{i}", PROVIDER_IDENTIFIER)
             for i in range(tools - 1)]  # fmt: skip
    if extra:
        body = {"provider": PROVIDER_IDENTIFIER, "tools": extra, "prune": "none"}
        synced = api.post("/api/v1/tools:sync", json=body, timeout=600)
        if synced.status_code != 200:
            raise HarnessError(f"sync failed: {synced.text[:300]}")


def mcp_config(api: httpx.Client) -> tuple[str, str]:
    """(MCP URL, session token) of a config serving the benchmark connection."""
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


def execute_body() -> dict[str, Any]:
    return {"tool_name": TOOL, "params": {"x": "1"}, "identifier": IDENTIFIER,
            "connector": CONNECTION_NAME}  # fmt: skip


def p50(samples: list[float]) -> float:
    """The median of `samples` (seconds) in milliseconds."""
    return statistics.median(samples) * 1000


def timed(call: Call, n: int) -> list[float]:
    """Seconds per call of `n` sequential calls; any answer but 200 stops the benchmark."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        out.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise HarnessError(f"{response.request.url} answered {response.status_code}")
    return out


def interleaved(calls: dict[str, Call], rounds: int, n: dict[str, int]) -> dict[str, list[float]]:
    """The p50 (ms) of each call per round, the calls taking turns within each round after
    a warm-up of each."""
    for call in calls.values():
        timed(call, 20)
    out: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(rounds):
        for label, call in calls.items():
            out[label].append(p50(timed(call, n[label])))
    return out


def count_instructions(pid: int, out_dir: Path, calls: dict[str, Call], n: int) -> dict[str, float]:
    """Instructions per request of each call (the server under callgrind), after 100
    uncounted ones."""
    control = ensure_tool("callgrind_control", "valgrind")
    out = {}
    for label, call in calls.items():
        timed(call, 100)
        _control(control, "--zero", str(pid))
        _control(control, "--instr=on", str(pid))
        timed(call, n)
        _control(control, "--instr=off", str(pid))
        _control(control, "--dump", str(pid))
        time.sleep(1)
        out[label] = _totals(out_dir, "t", pid) / n
    return out


def machine_load() -> str:
    """The load averages and how busy the CPUs were over one second, for the report."""
    return f"load average {load_average()}, CPUs {cpu_busy_fraction() * 100:.0f}% busy"
