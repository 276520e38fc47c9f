"""Tools benchmarks (docs/benchmarks.md, "Tools"): what `execute_tool` adds over the same
call through `/proxy` at one connection, `GET /api/v1/tools` with 2,000 tools, and importing
a 500-operation OpenAPI document.

    .venv/bin/python bench/tools.py [--rounds 7] [--requests 300] [--instructions] [--out FILE]

Latencies are taken in interleaved rounds (proxy, then execute_tool, in each round) and the
medians of the rounds' p50s are reported, as in bench/run.py. With `--instructions` the
server runs under callgrind and the instructions per request of both calls are counted
(free of timing noise; bench/instructions.py explains the method).
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
    REQUEST_PATH,
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

from authrelay.tools.generate import generate_tools, load_document

TOOL = f"{PROVIDER_IDENTIFIER}_anything"
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


def start_authrelay(procs: Processes, data_dir: Path, prefix: Sequence[str]) -> Server:
    """One worker; start-up under callgrind on a loaded machine may take minutes."""
    port = free_port()
    argv = [*prefix, str(VENV_BIN / "authrelay"), "serve", "--port", str(port),
            "--data-dir", str(data_dir), "--workers", "1"]  # fmt: skip
    env = {"AUTHRELAY_UPSTREAM_ALLOWLIST": f"{LOCALHOST}/32,localhost"}
    server = procs.start("authrelay-w1", f"http://{LOCALHOST}:{port}", argv, env)
    wait_ready(server, "/readyz", 600.0)
    return server


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _timed(call: Callable[[], httpx.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        out.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise HarnessError(f"{response.request.url} answered {response.status_code}")
    return out


def _tool_body(name: str, provider: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "definition": {
            "name": name,
            "description": f"Benchmark tool {name}: reads one thing by id",
            "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
        "binding": {"method": "GET", "path": "/anything/path", "params": {"x": {"in": "query"}}},
    }


def create_tool(api: httpx.Client) -> None:
    done = api.post("/api/v1/tools", json=_tool_body(TOOL, PROVIDER_IDENTIFIER))
    if done.status_code != 201:
        raise HarnessError(f"creating the tool failed: {done.text[:300]}")


def setup(api: httpx.Client) -> None:
    """The tool used for execute_tool, then tools up to 2,000 in the environment."""
    create_tool(api)
    for provider, n in (("github", 1000), ("slack", 499)):
        tools = [_tool_body(f"{provider}_bench_{i}", provider) for i in range(n)]
        synced = api.post("/api/v1/tools:sync", json={"provider": provider, "tools": tools})
        if synced.status_code != 200:
            raise HarnessError(f"sync failed: {synced.text[:300]}")


def measure_import(api: httpx.Client, operations: int) -> dict[str, float]:
    """Seconds for each step of `tools import-openapi` on a synthetic document."""
    raw = json.dumps(synthetic_document(operations)).encode()
    t0 = time.perf_counter()
    doc = load_document(raw)
    generated = generate_tools(doc, PROVIDER_IDENTIFIER, proxy_url="https://api.example.com")
    t1 = time.perf_counter()
    body = {"provider": PROVIDER_IDENTIFIER, "tools": generated.tools, "source": "openapi",
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


def _execute_body() -> dict[str, Any]:
    return {"tool_name": TOOL, "params": {"x": "1"}, "identifier": IDENTIFIER,
            "connector": CONNECTION_NAME}  # fmt: skip


def measure_latency(
    api: httpx.Client, headers: dict[str, str], rounds: int, n: int
) -> dict[str, Any]:
    proxy = lambda: api.get("/proxy" + REQUEST_PATH, headers=headers)  # noqa: E731
    body = _execute_body()
    execute = lambda: api.post("/api/v1/execute_tool", json=body)  # noqa: E731
    lists = {
        "GET /api/v1/tools (page of 50)": lambda: api.get("/api/v1/tools"),
        "GET /api/v1/tools?page_size=1000": lambda: api.get("/api/v1/tools?page_size=1000"),
        "GET /api/v1/tools?filter.query=thing": lambda: api.get(
            "/api/v1/tools", params={"filter.query": "reads one"}
        ),
    }
    _timed(proxy, 100)
    _timed(execute, 100)
    p_proxy, p_exec, diffs = [], [], []
    p_lists: dict[str, list[float]] = {k: [] for k in lists}
    for _ in range(rounds):
        a = _p50(_timed(proxy, n))
        b = _p50(_timed(execute, n))
        p_proxy.append(a)
        p_exec.append(b)
        diffs.append(b - a)
        for name, call in lists.items():
            p_lists[name].append(_p50(_timed(call, max(n // 10, 20))))
    return {
        "proxy_p50_ms": p_proxy,
        "execute_p50_ms": p_exec,
        "diff_ms": diffs,
        "lists": p_lists,
    }


def count_instructions(
    authrelay_pid: int, out_dir: Path, api: httpx.Client, headers: dict[str, str], n: int
) -> dict[str, float]:
    control = ensure_tool("callgrind_control", "valgrind")
    body = _execute_body()
    calls = {
        "/proxy": lambda: api.get("/proxy" + REQUEST_PATH, headers=headers),
        "execute_tool": lambda: api.post("/api/v1/execute_tool", json=body),
    }
    out = {}
    for label, call in calls.items():
        _timed(call, 100)
        _control(control, "--zero", str(authrelay_pid))
        _control(control, "--instr=on", str(authrelay_pid))
        _timed(call, n)
        _control(control, "--instr=off", str(authrelay_pid))
        _control(control, "--dump", str(authrelay_pid))
        time.sleep(1)
        out[label] = _totals(out_dir, "t", authrelay_pid) / n
    return out


def render(latency: dict[str, Any], imported: dict[str, float], counts: dict[str, float]) -> str:
    med = statistics.median
    lines = [
        f"| `execute_tool` − `/proxy`, p50 at 1 connection (median of {len(latency['diff_ms'])}"
        f" rounds) | {med(latency['diff_ms']):.2f} ms (proxy {med(latency['proxy_p50_ms']):.2f},"
        f" execute_tool {med(latency['execute_p50_ms']):.2f}) |",
    ]
    for name, values in latency["lists"].items():
        lines.append(f"| {name}, 2,000 tools, p50 | {med(values):.2f} ms |")
    lines.append(
        f"| import of 500 operations: generate {imported['generate']:.2f} s, plan "
        f"{imported['plan']:.2f} s, apply {imported['apply']:.2f} s | {imported['total']:.2f} s |"
    )
    for label, value in counts.items():
        lines.append(f"| instructions per request, {label} | {value:,.0f} |")
    return "\n".join(["| measure | result |", "|---|---:|", *lines])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
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
                if args.instructions:
                    create_tool(api)
                    counts = count_instructions(
                        authrelay.process.pid, tmp, api, headers, args.requests
                    )
                    text = render_counts(counts)
                else:
                    setup(api)
                    imported = measure_import(api, 500)
                    latency = measure_latency(api, headers, args.rounds, args.requests)
                    text = render(latency, imported, {})
                    text += "\n\nraw: " + json.dumps({"latency": latency, "import": imported})
    except HarnessError as exc:
        print(f"tools benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


def render_counts(counts: dict[str, float]) -> str:
    lines = [f"| {label} | {value:,.0f} |" for label, value in counts.items()]
    proxy, execute = counts["/proxy"], counts["execute_tool"]
    lines.append(f"| execute_tool − /proxy | {execute - proxy:+,.0f} |")
    return "\n".join(["| call | instructions per request |", "|---|---:|", *lines])


if __name__ == "__main__":
    sys.exit(main())
