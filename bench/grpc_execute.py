"""gRPC benchmark (docs/benchmarks.md, "Issue 22: gRPC and HTTP/2"): what Scalekit's
`scalekit.v1.tools.ToolService/ExecuteTool` over gRPC costs beside the same call by REST,
`POST /api/v1/execute_tool`, on the same one-worker authrelay.

    .venv/bin/python bench/grpc_execute.py [--rounds 7] [--requests 300] [--duration 10]
                                           [--warmup 2] [--streams 64] [--instructions]
                                           [--out FILE]

The server, upstream, connected account and tool come from bench/tool_setup.py (as in
bench/tools.py). Latency: at one connection, REST over one HTTP/1.1 keep-alive connection
(httpx) and gRPC over one h2c channel (grpcio's synchronous client), in interleaved rounds
whose order alternates; the medians of the rounds' p50s are reported. Throughput: REST from
`wrk` with a Lua POST script at `--streams` connections, gRPC from grpcio's C-core async
client (`grpc.aio`, one channel, so one HTTP/2 connection) with `--streams` calls in flight,
in interleaved rounds; the client's own CPU is measured beside each to show it is not the
bottleneck. With `--instructions` the server runs under callgrind and the instructions per
call of both are counted (bench/instructions.py explains the method).

Not named grpc.py: this folder is the first entry of `sys.path` for its scripts (and
tests/bench puts it there), where a grpc.py would hide grpcio itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import grpc
import grpc.aio
import httpx
from google.protobuf import json_format
from run import HarnessError, _children_seconds, _group_ticks, ensure_wrk, run_wrk
from tool_setup import (
    ToolBench,
    add_tools,
    count_instructions,
    execute_body,
    machine_load,
    tool_bench,
)

from authrelay.grpc.descriptors import shipped

METHOD = "/scalekit.v1.tools.ToolService/ExecuteTool"
REST_PATH = "/api/v1/execute_tool"
P50_TARGET_MS = 1.0  # gRPC p50 minus REST p50 at one connection
THROUGHPUT_TARGET = 0.80  # gRPC / REST requests per second
Timed = Callable[[], None]


@dataclass(frozen=True)
class Load:
    """One throughput measurement: `kind` is "REST" or "gRPC"."""

    kind: str
    round: int
    requests: int
    seconds: float
    errors: int
    client_cpu_s: float  # CPU time of the load generator over the measurement
    server_cpu_s: float  # CPU time of authrelay over the measurement
    p50_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def client_share(self) -> float:
        """The load generator's CPU as a share of one core."""
        return self.client_cpu_s / self.seconds if self.seconds else 0.0

    @property
    def server_us(self) -> float:
        return self.server_cpu_s * 1e6 / self.requests if self.requests else 0.0


# ------------------------------------------------------------------------------ requests


def grpc_request() -> bytes:
    """`execute_body()` as an ExecuteToolRequest, serialized (the descriptors authrelay
    ships, so the SDK's generated modules are not needed)."""
    method = shipped().methods[METHOD]
    message = method.input()
    json_format.ParseDict(execute_body(), message)
    return message.SerializeToString()


def check_answers(bench: ToolBench, channel: grpc.Channel, metadata: list[tuple[str, str]]) -> None:
    """Both calls must reach the upstream and carry the same data before anything is timed."""
    rest = bench.api.post(REST_PATH, json=execute_body())
    if rest.status_code != 200:
        raise HarnessError(f"execute_tool answered {rest.status_code}: {rest.text[:300]}")
    raw = channel.unary_unary(METHOD)(grpc_request(), metadata=metadata, timeout=60)
    answer = shipped().methods[METHOD].output()
    answer.ParseFromString(raw)
    grpc_data = json_format.MessageToDict(answer).get("data")
    if not grpc_data or grpc_data != rest.json().get("data"):
        raise HarnessError(f"ExecuteTool's data {grpc_data!r} differs from execute_tool's")


def rest_call(api: httpx.Client) -> Timed:
    body = execute_body()

    def call() -> None:
        response = api.post(REST_PATH, json=body)
        if response.status_code != 200:
            raise HarnessError(f"execute_tool answered {response.status_code}")

    return call


def grpc_call(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Timed:
    stub = channel.unary_unary(METHOD)  # no serializers: bytes in, bytes out
    request = grpc_request()

    def call() -> None:
        try:
            stub(request, metadata=metadata, timeout=60)
        except grpc.RpcError as exc:
            raise HarnessError(f"ExecuteTool failed: {exc}") from exc

    return call


# ------------------------------------------------------------------------------ latency


def timed(call: Timed, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def interleaved(calls: dict[str, Timed], rounds: int, n: int) -> dict[str, list[float]]:
    """The p50 (ms) of each call per round after a warm-up of each; the order within a
    round alternates, so neither always goes first."""
    for call in calls.values():
        timed(call, 50)
    out: dict[str, list[float]] = {label: [] for label in calls}
    order = list(calls)
    for rnd in range(rounds):
        for label in order if rnd % 2 == 0 else reversed(order):
            out[label].append(statistics.median(timed(calls[label], n)) * 1000)
    return out


# ------------------------------------------------------------------------------ throughput


def lua_script(path: Path) -> Path:
    """A wrk script sending execute_tool's POST."""
    body = json.dumps(execute_body())
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def rest_load(
    wrk: str, bench: ToolBench, script: Path, streams: int, seconds: int, rnd: int
) -> Load:
    pid = bench.server.process.pid
    headers = {"Authorization": bench.proxy_headers["Authorization"]}
    url = bench.server.url + REST_PATH
    client0, server0, start = _children_seconds(), _group_ticks({pid}), time.perf_counter()
    result = run_wrk(wrk, url, streams, seconds, headers, (str(script),))
    elapsed = time.perf_counter() - start
    hz = _hz()
    # wrk reports its own window; the CPU deltas include its start-up (a few ms).
    return Load(
        "REST",
        rnd,
        result.requests,
        result.requests / result.requests_per_s if result.requests_per_s else elapsed,
        result.errors,
        _children_seconds() - client0,
        (_group_ticks({pid}) - server0) / hz,
        result.p50_ms,
    )


async def _grpc_load(
    target: str, metadata: list[tuple[str, str]], streams: int, seconds: float
) -> tuple[int, int, float, float, list[float]]:
    """(answered, errors, elapsed s, client CPU s, latencies s) of `streams` concurrent
    ExecuteTool calls on one channel for `seconds`."""
    request = grpc_request()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = channel.unary_unary(METHOD)
        await stub(request, metadata=metadata, timeout=60)  # connected before the clock starts
        latencies: list[float] = []
        errors = 0
        cpu0, start = time.process_time(), time.perf_counter()
        end = start + seconds

        async def worker() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < end:
                try:
                    await stub(request, metadata=metadata, timeout=10)
                except grpc.aio.AioRpcError:
                    errors += 1
                latencies.append(time.perf_counter() - now)

        await asyncio.gather(*(worker() for _ in range(streams)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return len(latencies) - errors, errors, elapsed, cpu, latencies


def grpc_load(bench: ToolBench, streams: int, seconds: float, rnd: int) -> Load:
    pid = bench.server.process.pid
    target = urlparse(bench.server.url).netloc
    metadata = [("authorization", bench.proxy_headers["Authorization"])]
    server0 = _group_ticks({pid})
    done, errors, elapsed, cpu, latencies = asyncio.run(
        _grpc_load(target, metadata, streams, seconds)
    )
    server = (_group_ticks({pid}) - server0) / _hz()
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    return Load("gRPC", rnd, done, elapsed, errors, cpu, server, p50)


def _hz() -> int:
    return os.sysconf("SC_CLK_TCK")


def throughput(bench: ToolBench, wrk: str, script: Path, args: argparse.Namespace) -> list[Load]:
    """Interleaved rounds of REST and gRPC load (the order alternating), each after a
    warm-up run of its own."""
    out: list[Load] = []
    for rnd in range(args.load_rounds):
        kinds = ["REST", "gRPC"] if rnd % 2 == 0 else ["gRPC", "REST"]
        for kind in kinds:
            if kind == "REST":
                rest_load(wrk, bench, script, args.streams, args.warmup, rnd)
                load = rest_load(wrk, bench, script, args.streams, args.duration, rnd)
            else:
                grpc_load(bench, args.streams, args.warmup, rnd)
                load = grpc_load(bench, args.streams, args.duration, rnd)
            print(f"  {format_load(load)}", flush=True)
            out.append(load)
    return out


# ------------------------------------------------------------------------------ report


def format_load(load: Load) -> str:
    return (
        f"| {load.round + 1} | {load.kind} | {load.per_second:,.0f} | {load.p50_ms:.2f} | "
        f"{load.server_us:,.0f} | {load.client_share:.0%} | {load.errors} |"
    )


def paired_ratios(loads: Sequence[Load]) -> list[float]:
    """gRPC / REST requests per second of each round (the two measured back to back)."""
    by_round: dict[int, dict[str, Load]] = {}
    for load in loads:
        by_round.setdefault(load.round, {})[load.kind] = load
    return [
        pair["gRPC"].per_second / pair["REST"].per_second
        for _, pair in sorted(by_round.items())
        if "gRPC" in pair and "REST" in pair and pair["REST"].per_second
    ]


def checks(latency: dict[str, list[float]], loads: Sequence[Load], streams: int) -> list[str]:
    """The two targets, met or not (any failed call makes a check invalid)."""
    med = statistics.median
    diffs = [g - r for r, g in zip(latency["REST"], latency["gRPC"], strict=True)]
    diff = med(diffs)
    lines = ["| Check | Measured | Target | Result |", "|---|---:|---:|---|"]
    lines.append(
        f"| gRPC p50 − REST p50 at 1 connection (median of {len(diffs)} rounds) | "
        f"{diff:+.2f} ms (REST {med(latency['REST']):.2f}, gRPC {med(latency['gRPC']):.2f}) | "
        f"≤ {P50_TARGET_MS:.1f} ms | {'met' if diff <= P50_TARGET_MS else 'not met'} |"
    )
    ratios = paired_ratios(loads)
    if ratios:
        ratio = med(ratios)
        rounds = ", ".join(f"{r:.0%}" for r in ratios)
        verdict = "met" if ratio >= THROUGHPUT_TARGET else "not met"
        if any(load.errors for load in loads):
            verdict = "INVALID (errors)"
        lines.append(
            f"| gRPC / REST requests/s, {streams} calls in flight | "
            f"{ratio:.0%} (rounds: {rounds}) | ≥ {THROUGHPUT_TARGET:.0%} | {verdict} |"
        )
    return lines


def render(
    latency: dict[str, list[float]], loads: Sequence[Load], load_text: str, streams: int
) -> str:
    med = statistics.median
    lines = [f"Machine at the start: {load_text}.", ""]
    lines += ["| call, 1 connection | p50 (median of rounds) | rounds' p50s |", "|---|---:|---|"]
    for label, values in latency.items():
        lines.append(
            f"| {label} | {med(values):.2f} ms | {', '.join(f'{v:.2f}' for v in values)} |"
        )
    if loads:
        lines += [
            "",
            f"Throughput at {streams} in flight (REST: {streams} HTTP/1.1 connections, wrk; "
            f"gRPC: {streams} streams on one h2c connection, grpc.aio):",
            "",
            "| Round | Call | Requests/s | p50 (ms) | Server CPU per request (µs) | "
            "Client CPU (of one core) | Errors |",
            "|---:|---|---:|---:|---:|---:|---:|",
            *(format_load(load) for load in loads),
        ]
        for kind in ("REST", "gRPC"):
            mine = [load for load in loads if load.kind == kind]
            lines.append(
                f"| median | {kind} | {med(x.per_second for x in mine):,.0f} | "
                f"{med(x.p50_ms for x in mine):.2f} | {med(x.server_us for x in mine):,.0f} | "
                f"{med(x.client_share for x in mine):.0%} | {sum(x.errors for x in mine)} |"
            )
    lines += ["", *checks(latency, loads, streams)]
    return "\n".join(lines)


def render_counts(counts: dict[str, float]) -> str:
    lines = [f"| {label} | {value:,.0f} |" for label, value in counts.items()]
    lines.append(f"| gRPC − REST | {counts['gRPC'] - counts['REST']:+,.0f} |")
    return "\n".join(["| call | instructions per call |", "|---|---:|", *lines])


# ------------------------------------------------------------------------------ main


def _as_response(call: Timed) -> Callable[[], httpx.Response]:
    """tool_setup.count_instructions wants an httpx answer; a gRPC call that failed raises."""
    request = httpx.Request("POST", "grpc:" + METHOD)

    def wrapped() -> httpx.Response:
        call()
        return httpx.Response(200, request=request)

    return wrapped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="latency rounds")
    parser.add_argument("--requests", type=int, default=300, help="calls per latency round")
    parser.add_argument("--load-rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per load run")
    parser.add_argument("--streams", type=int, default=64, help="calls in flight under load")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    try:
        wrk = "" if args.instructions else ensure_wrk()
        with tool_bench(args.instructions) as bench:
            load_text = machine_load()
            add_tools(bench.api, 1)
            metadata = [("authorization", bench.proxy_headers["Authorization"])]
            target = urlparse(bench.server.url).netloc
            with grpc.insecure_channel(target) as channel:
                check_answers(bench, channel, metadata)
                calls = {"REST": rest_call(bench.api), "gRPC": grpc_call(channel, metadata)}
                if args.instructions:
                    counts = count_instructions(
                        bench.server.process.pid,
                        bench.tmp,
                        {k: _as_response(v) for k, v in calls.items()},
                        args.requests,
                    )
                    text = f"Machine at the start: {load_text}.\n\n" + render_counts(counts)
                else:
                    latency = interleaved(calls, args.rounds, args.requests)
                    print(f"latency: {json.dumps(latency)}", flush=True)
            if not args.instructions:
                script = lua_script(bench.tmp / "execute_tool.lua")
                loads = throughput(bench, wrk, script, args)
                text = render(latency, loads, load_text, args.streams)
                raw = {"latency": latency, "loads": [vars(x) for x in loads]}
                text += "\n\nraw: " + json.dumps(raw)
    except HarnessError as exc:
        print(f"gRPC benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
