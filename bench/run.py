"""Proxy benchmark: requests/s and p50/p99 latency of three targets, measured with wrk.

(a) the local upstream called directly; (b) a minimal pass-through proxy with no lookups, the
floor for a Python proxy; (c) authrelay's proxy with a real connected account. Everything runs
on this machine, in this one run, on 127.0.0.1 only. See docs/benchmarks.md.

    .venv/bin/python bench/run.py [--duration 10] [--connections 1,16,64] [--workers 2]
                                  [--out docs/benchmarks-latest.md]

Exits non-zero only when the harness itself fails; missed targets are reported, not fatal.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from statistics import median
from types import FrameType
from typing import IO, Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
LOCALHOST = "127.0.0.1"
# What every target is asked for (the same request line and headers for all three).
REQUEST_PATH = "/anything/path?x=1"
# What wrk sends for (c) besides the token (see setup_connected_account).
CONNECTION_NAME = "bench"
IDENTIFIER = "user@example.com"
API_KEY = "bench-secret-key"
PROVIDER_IDENTIFIER = "benchupstream"
# Targets from the issue.
MIN_THROUGHPUT_RATIO = 0.80  # (c) / (b) at 16 and 64 connections
MAX_ADDED_P50_MS = 1.0  # (c) p50 - (a) p50 at 1 connection
READY_TIMEOUT_S = 60.0
DEFAULT_WORKERS = "2"


class HarnessError(Exception):
    """The benchmark itself could not run (not a missed target)."""


class ProxyUnavailable(Exception):
    """authrelay's proxy cannot be measured yet (e.g. its API is not there); the reason says why."""


# ------------------------------------------------------------------------------------ wrk


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """requests/s, p50 and p99 (in ms) and error counts from ``wrk --latency`` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    p99 = re.search(r"^\s+99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    total = re.search(r"^\s+(\d+) requests in ", output, re.M)
    if not (rps and p50 and p99 and total):
        raise HarnessError(f"could not parse wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(*p50.groups()),
        p99_ms=_ms(*p99.groups()),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def ensure_tool(command: str, package: str, brew: str | None = None) -> str:
    """The path of `command`, installing its Debian package when it is missing and we are
    root."""
    found = shutil.which(command)
    if found:
        return found
    how = f"install it with: sudo apt-get install {package} (Debian/Ubuntu)"
    if brew:
        how += f" or brew install {brew} (macOS)"
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise HarnessError(f"{command} is not installed; {how}")
    print(f"{command} is missing; installing it: apt-get install -y {package}", flush=True)
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, timeout=300)
    except (subprocess.SubprocessError, OSError) as exc:
        raise HarnessError(f"could not install {package} ({exc}); {how}") from exc
    found = shutil.which(command)
    if not found:
        raise HarnessError(f"{command} is still missing after apt-get; {how}")
    return found


def ensure_wrk() -> str:
    return ensure_tool("wrk", "wrk", brew="wrk")


def wrk_version(wrk: str) -> str:
    """wrk's version line (`wrk -v` prints it first, with its usage, and exits non-zero)."""
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def run_wrk(
    wrk: str,
    url: str,
    connections: int,
    duration_s: int,
    headers: dict[str, str],
    script: Sequence[str] = (),
) -> WrkResult:
    """`script`: a Lua script and its arguments (bench/identifiers.lua MODE N THREADS)."""
    argv = [
        wrk,
        f"--threads={min(connections, 2)}",
        f"--connections={connections}",
        f"--duration={duration_s}s",
        "--timeout=5s",
        "--latency",
    ]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    if script:
        argv += ["--script", script[0], url, "--", *script[1:]]
    else:
        argv.append(url)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"wrk did not finish: {' '.join(argv)}") from exc
    if done.returncode != 0:
        raise HarnessError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# ------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Starts servers in their own process groups and always stops them (by group id)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.servers: list[Server] = []

    def start(
        self, name: str, url: str, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> Server:
        log_path = self.log_dir / f"{name}.log"
        log: IO[bytes] = log_path.open("wb")
        with log:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group: uvicorn workers die with it
            )
        server = Server(name, url, process, log_path)
        self.servers.append(server)
        return server

    def stop(self, server: Server) -> None:
        process = server.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Workers left behind by a supervisor that died first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(reversed(self.servers)):
            self.stop(server)


@contextlib.contextmanager
def running(log_dir: Path) -> Iterator[Processes]:
    """Servers that are always stopped at the end; when the harness fails, the tails of their
    logs are printed first."""
    procs = Processes(log_dir)
    try:
        yield procs
    except HarnessError:
        for server in procs.servers:
            print(f"--- {server.name} log (tail)\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        procs.stop_all()


def wait_ready(server: Server, path: str, timeout_s: float | None = None) -> None:
    timeout_s = READY_TIMEOUT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise HarnessError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                response = client.get(server.url + path)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
    raise HarnessError(
        f"{server.name} not ready after {timeout_s:.0f}s ({last}):\n{server.log_tail()}"
    )


def uvicorn_argv(app: str, app_dir: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(app_dir),
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start_upstream(procs: Processes) -> Server:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "upstream.py"), "--port", str(port)]
    server = procs.start("upstream", f"http://{LOCALHOST}:{port}", argv)
    wait_ready(server, "/ready")
    return server


def start_passthrough(
    procs: Processes, upstream: Server, workers: int, prefix: Sequence[str] = ()
) -> Server:
    """The floor; `prefix` runs it under another program (bench/instructions.py: valgrind)."""
    port = free_port()
    argv = [*prefix, *uvicorn_argv("passthrough:app", BENCH_DIR, port, workers)]
    env = {"BENCH_UPSTREAM_URL": upstream.url}
    server = procs.start(f"passthrough-w{workers}", f"http://{LOCALHOST}:{port}", argv, env)
    wait_ready(server, "/ready")
    return server


def start_authrelay(
    procs: Processes, data_dir: Path, workers: int, prefix: Sequence[str] = ()
) -> Server:
    port = free_port()
    argv = [
        *prefix,
        str(VENV_BIN / "authrelay"),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(workers),
    ]
    env = {"AUTHRELAY_UPSTREAM_ALLOWLIST": f"{LOCALHOST}/32,localhost"}
    server = procs.start(f"authrelay-w{workers}", f"http://{LOCALHOST}:{port}", argv, env)
    wait_ready(server, "/readyz")
    return server


# --------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    key: str  # "a", "b" or "c"
    label: str
    workers: int | None  # uvicorn workers of the server under test (None: the upstream)
    url: str
    headers: dict[str, str]
    pgid: int  # process group of the server under test: its CPU time is measured


def expect_upstream_body(url: str, headers: dict[str, str], what: str) -> None:
    """One request before measuring: the target must answer 200 with the upstream's body."""
    from upstream import BODY  # bench/ is on sys.path when this file runs

    try:
        response = httpx.get(url, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise HarnessError(f"{what}: {url} failed: {exc!r}") from exc
    if response.status_code != 200 or response.content != BODY:
        raise HarnessError(
            f"{what}: {url} answered {response.status_code} {response.text[:300]!r}, "
            "not the upstream's 200 body"
        )


def _api(client: httpx.Client, method: str, path: str, expect: int, **kwargs: Any) -> Any:
    """One authrelay API call; anything unexpected makes (c) unavailable, with the reason."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ProxyUnavailable(f"{method} {path} failed: {exc!r}") from exc
    if response.status_code != expect:
        raise ProxyUnavailable(
            f"{method} {path} answered {response.status_code}: {response.text[:300]}"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise ProxyUnavailable(f"{method} {path} did not answer JSON") from exc


def setup_connected_account(authrelay: Server, data_dir: Path, upstream: Server) -> dict[str, str]:
    """Create API credentials, a custom provider for the upstream, a connection and a connected
    account through authrelay's API; return the headers of a proxied request (SPEC: proxy).

    Raises ProxyUnavailable (never fakes anything) when a step is not implemented or fails.
    """
    created = subprocess.run(
        [
            str(VENV_BIN / "authrelay"),
            "env",
            "create-client",
            "dev",
            "--data-dir",
            str(data_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if created.returncode != 0:
        raise HarnessError(f"authrelay env create-client failed: {created.stderr}")
    try:
        creds = json.loads(created.stdout)
        client_id, client_secret = creds["client_id"], creds["client_secret"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"unexpected create-client output: {created.stdout!r}") from exc
    with httpx.Client(base_url=authrelay.url, timeout=30) as client:
        token = _api(
            client,
            "POST",
            "/oauth/token",
            200,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        provider = {
            "display_name": "Bench Upstream",
            "description": "benchmark",
            "auth_patterns": [
                {
                    "type": "API_KEY",
                    "display_name": "API key",
                    "description": "k",
                    "fields": [
                        {
                            "field_name": "api_key",
                            "label": "API key",
                            "input_type": "password",
                            "required": True,
                        }
                    ],
                    "auth_header_key_override": "x-api-key",
                }
            ],
            "proxy_url": upstream.url,
            "proxy_enabled": True,
        }
        _api(client, "POST", "/api/v1/custom-providers", 201, json=provider)
        _api(
            client,
            "POST",
            "/api/v1/connections",
            201,
            params={"flags.is_app": "true"},
            json={
                "provider_key": PROVIDER_IDENTIFIER,
                "key_id": CONNECTION_NAME,
                "type": "API_KEY",
            },
        )
        _api(
            client,
            "POST",
            "/api/v1/connected_accounts",
            201,
            json={
                "connector": CONNECTION_NAME,
                "identifier": IDENTIFIER,
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": {"api_key": API_KEY}}}
                },
            },
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "connection_name": CONNECTION_NAME,
            "identifier": IDENTIFIER,
        }
        # The upstream must see the connected account's key (its echo path shows its headers).
        echo = client.get("/proxy/anything/__echo_headers?x=1", headers=headers)
        if echo.status_code != 200:
            raise ProxyUnavailable(f"GET /proxy/... answered {echo.status_code}: {echo.text[:300]}")
        try:
            seen = echo.json()["headers"].get("x-api-key")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProxyUnavailable(
                f"the proxy's answer is not the upstream's: {echo.text[:300]}"
            ) from exc
        if seen != API_KEY:
            raise ProxyUnavailable(f"the upstream saw x-api-key={seen!r}, not the account's key")
        from upstream import BODY  # bench/ is on sys.path when this file runs

        plain = client.get("/proxy" + REQUEST_PATH, headers=headers)
        if plain.status_code != 200 or plain.content != BODY:
            raise ProxyUnavailable(
                f"GET /proxy{REQUEST_PATH} answered {plain.status_code} {plain.text[:300]!r}, "
                "not the upstream's 200 body"
            )
    return headers


# ------------------------------------------------------------------------------ measuring


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat.

    Busy is user + nice + system + steal: time that processes (or the hypervisor) took. Interrupt
    and softirq time is left out because the kernel does not charge it to any process, and here
    it is mostly the benchmark's own loopback traffic.
    """
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    )
    return (
        user + nice + system + steal,
        user + nice + system + idle + iowait + irq + softirq + steal,
    )


def _group_ticks(pgids: set[int]) -> int:
    """CPU ticks used so far by the live processes of these process groups (our servers)."""
    used = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # fields from "state" on
        if int(fields[2]) in pgids:  # pgrp
            used += int(fields[11]) + int(fields[12])  # utime + stime
    return used


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
    return usage.ru_utime + usage.ru_stime


class OtherCpu:
    """Share of the machine's CPU used by processes that are not part of the benchmark
    (not wrk, not our servers) while measuring: other load makes the numbers noisy."""

    def __init__(self, pgids: set[int]) -> None:
        self.pgids = pgids
        self.hz = os.sysconf("SC_CLK_TCK")
        self.busy0, self.total0 = _cpu_ticks()
        self.ours0 = _group_ticks(pgids)
        self.children0 = _children_seconds()

    def fraction(self) -> float:
        busy, total = _cpu_ticks()
        ours = _group_ticks(self.pgids) - self.ours0
        wrk_ticks = (_children_seconds() - self.children0) * self.hz
        elapsed = total - self.total0
        if elapsed <= 0:
            return 0.0
        return max(0.0, (busy - self.busy0 - ours - wrk_ticks) / elapsed)


@dataclass
class Row:
    target: Target
    connections: int
    result: WrkResult | None = None
    note: str = ""
    other_cpu: float | None = None  # share of all CPUs used by unrelated processes meanwhile
    cpu_us: float | None = None  # CPU time of the server under test per request (µs)
    round: int = 0


@dataclass
class Report:
    started: dt.datetime
    machine: dict[str, str]
    settings: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    unavailable: dict[int, str] = field(default_factory=dict)  # workers -> why (c) is missing

    def rounds(self, key: str, workers: int | None, connections: int) -> list[Row]:
        """The measured rows of one target at one connection count, one per round."""
        return [
            row
            for row in self.rows
            if row.target.key == key
            and row.connections == connections
            and (workers is None or row.target.workers == workers)
            and row.result is not None
        ]


def measure(
    wrk: str, target: Target, conns: int, args: argparse.Namespace, procs: Processes, rnd: int
) -> Row:
    """A warm-up run, then the measured run with the other processes' CPU use alongside. When
    other processes took more than --max-other-load, measure again (at most --retries times)
    and keep the quietest run. Also records the server's own CPU time per request, which does
    not depend on how wrk's connections happened to be spread over the workers (though, on a
    virtual machine, it moves with the speed of the virtual CPU like everything else)."""
    if args.warmup > 0:
        run_wrk(wrk, target.url, conns, args.warmup, target.headers)
    best: Row | None = None
    hz = os.sysconf("SC_CLK_TCK")
    for _attempt in range(1 + args.retries):
        meter = OtherCpu({server.process.pid for server in procs.servers})
        own0 = _group_ticks({target.pgid})
        result = run_wrk(wrk, target.url, conns, args.duration, target.headers)
        own = _group_ticks({target.pgid}) - own0
        row = Row(target, conns, result, other_cpu=meter.fraction(), round=rnd)
        if result.requests:
            row.cpu_us = own / hz * 1e6 / result.requests
        if result.errors:
            row.note = f"{result.non_2xx} non-2xx, {result.socket_errors} socket errors"
        print(f"  {format_row(row)}", flush=True)
        if best is None or (row.other_cpu or 0.0) < (best.other_cpu or 0.0):
            best = row
        if (row.other_cpu or 0.0) <= args.max_other_load:
            break
    assert best is not None
    return best


# ------------------------------------------------------------------------------- reporting


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_busy_fraction(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over a short window (before we start anything)."""
    try:
        busy0, total0 = _cpu_ticks()
        time.sleep(seconds)
        busy1, total1 = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 0.0 if total1 <= total0 else (busy1 - busy0) / (total1 - total0)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def package_versions(names: Sequence[str]) -> str:
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (missing)")
    return ", ".join(parts)


def machine_info(wrk: str | None) -> dict[str, str]:
    info = {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU model": cpu_model(),
        "Kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Packages": package_versions(
            ["authrelay", "uvicorn", "uvloop", "httptools", "starlette", "aiohttp"]
        ),
    }
    if wrk is not None:
        info["wrk"] = wrk_version(wrk)
    return info


def format_row(row: Row) -> str:
    if row.result is None:
        return f"{row.target.label} c={row.connections}: {row.note}"
    r = row.result
    other = "" if row.other_cpu is None else f", other load {row.other_cpu:.0%} CPU"
    cpu = "" if row.cpu_us is None else f", server CPU {row.cpu_us:.0f} µs/req"
    note = f" ({row.note})" if row.note else ""
    return (
        f"{row.target.label} c={row.connections} round {row.round + 1}: "
        f"{r.requests_per_s:,.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms"
        f"{cpu}{other}{note}"
    )


def _groups(report: Report) -> list[tuple[Target, int, list[Row]]]:
    """(target, connections, its rows in round order), in the order of the report's rows."""
    seen: dict[tuple[str, int | None, int], tuple[Target, int, list[Row]]] = {}
    for row in report.rows:
        key = (row.target.key, row.target.workers, row.connections)
        if key not in seen:
            seen[key] = (row.target, row.connections, [])
        seen[key][2].append(row)
    return list(seen.values())


def results_table(report: Report) -> list[str]:
    """One line per target and connection count: the median of its rounds (and their range)."""
    lines = [
        "| Target | Workers | Connections | Requests/s (median) | Range over rounds "
        "| p50 (ms) | p99 (ms) | Server CPU per request (µs) | Errors | Other load (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, conns, rows in _groups(report):
        workers = "-" if target.workers is None else str(target.workers)
        head = f"| {target.label} | {workers} | {conns} "
        results = [row.result for row in rows if row.result is not None]
        if not results:
            lines.append(head + f"| {rows[0].note} | | | | | | |")
            continue
        rps = [r.requests_per_s for r in results]
        cpu = [row.cpu_us for row in rows if row.cpu_us is not None]
        others = [row.other_cpu for row in rows if row.other_cpu is not None]
        lines.append(
            head + f"| {median(rps):,.0f} | {min(rps):,.0f}–{max(rps):,.0f} "
            f"| {median(r.p50_ms for r in results):.2f} "
            f"| {median(r.p99_ms for r in results):.2f} "
            f"| {f'{median(cpu):.0f}' if cpu else '?'} "
            f"| {sum(r.errors for r in results)} "
            f"| {f'{max(others):.0%}' if others else '?'} |"
        )
    return lines


def _check_line(name: str, workers: int, goal: str, measured: str, verdict: str) -> str:
    return f"| {name} | {workers} | {measured} | {goal} | {verdict} |"


def paired_ratios(report: Report, workers: int, connections: int) -> list[float] | None:
    """(c)/(b) requests/s of each round, (b) and (c) of a round measured back to back; None
    when a round is missing or had errors."""
    b_rows = {row.round: row for row in report.rounds("b", workers, connections)}
    c_rows = {row.round: row for row in report.rounds("c", workers, connections)}
    if not b_rows or set(b_rows) != set(c_rows):
        return None
    ratios = []
    for rnd in sorted(b_rows):
        b, c = b_rows[rnd].result, c_rows[rnd].result
        if b is None or c is None or b.errors or c.errors:
            return None
        ratios.append(c.requests_per_s / b.requests_per_s)
    return ratios


def target_checks(report: Report, workers: Sequence[int], connections: Sequence[int]) -> list[str]:
    """The issue's targets, per worker count: PASS / FAIL, or why they could not be checked.
    With several rounds, a check is passed on the median of the rounds; every round's value
    is shown beside it."""
    lines = ["| Check | Workers | Measured | Target | Result |", "|---|---:|---:|---:|---|"]
    ratio_goal = f"≥ {MIN_THROUGHPUT_RATIO:.0%}"
    added_goal = f"≤ {MAX_ADDED_P50_MS:.1f} ms"
    for w in workers:
        missing = w in report.unavailable
        for conns in (c for c in (16, 64) if c in connections):
            name = f"(c)/(b) throughput at {conns} connections"
            ratios = None if missing else paired_ratios(report, w, conns)
            if missing:
                lines.append(_check_line(name, w, ratio_goal, "-", "n/a: (c) not available"))
            elif ratios is None:
                lines.append(_check_line(name, w, ratio_goal, "-", "INVALID: errors in the run"))
            else:
                ratio = median(ratios)
                each = ", ".join(f"{r:.0%}" for r in ratios)
                measured = f"{ratio:.0%}" + (f" (rounds: {each})" if len(ratios) > 1 else "")
                verdict = "PASS" if ratio >= MIN_THROUGHPUT_RATIO else "FAIL"
                lines.append(_check_line(name, w, ratio_goal, measured, verdict))
        if 1 in connections:
            name = "(c) p50 minus (a) p50 at 1 connection"
            a = [row.result for row in report.rounds("a", None, 1) if row.result]
            c = [row.result for row in report.rounds("c", w, 1) if row.result]
            if missing:
                lines.append(_check_line(name, w, added_goal, "-", "n/a: (c) not available"))
            elif not a or not c or any(r.errors for r in a + c):
                lines.append(_check_line(name, w, added_goal, "-", "INVALID: errors in the run"))
            else:
                a_p50 = median(r.p50_ms for r in a)
                c_p50 = median(r.p50_ms for r in c)
                added = c_p50 - a_p50
                measured = f"{added:.2f} ms ({c_p50:.2f} - {a_p50:.2f})"
                verdict = "PASS" if added <= MAX_ADDED_P50_MS else "FAIL"
                lines.append(_check_line(name, w, added_goal, measured, verdict))
    return lines


def cpu_lines(report: Report, workers: Sequence[int], connections: Sequence[int]) -> list[str]:
    """What (c) costs per request beyond (b), in server CPU time: a second view of the
    throughput ratio (when the proxies are CPU-bound, throughput follows 1 / CPU per request)."""
    lines = []
    for w in workers:
        for conns in connections:
            b = [row.cpu_us for row in report.rounds("b", w, conns) if row.cpu_us]
            c = [row.cpu_us for row in report.rounds("c", w, conns) if row.cpu_us]
            if b and c:
                mb, mc = median(b), median(c)
                lines.append(
                    f"| {w} | {conns} | {mb:.0f} | {mc:.0f} | {mc - mb:+.0f} | {mb / mc:.0%} |"
                )
    if not lines:
        return []
    return [
        "| Workers | Connections | (b) µs/req | (c) µs/req | (c) − (b) | (b)/(c) |",
        "|---:|---:|---:|---:|---:|---:|",
        *lines,
    ]


def render(report: Report, workers: Sequence[int], connections: Sequence[int]) -> str:
    lines = [f"## Benchmark run {report.started:%Y-%m-%d %H:%M} UTC", ""]
    lines += [f"- {k}: {v}" for k, v in {**report.machine, **report.settings}.items()]
    lines += ["", "### Results", "", *results_table(report), ""]
    noisy = [r.other_cpu for r in report.rows if r.other_cpu is not None and r.other_cpu > 0.05]
    if noisy:
        lines.append(
            f"Other processes used up to {max(noisy):.0%} of the machine's CPU during some "
            'measurements (column "Other load"); those rows are noisier than the rest.'
        )
        lines.append("")
    for w, why in sorted(report.unavailable.items()):
        lines.append(f"(c) authrelay with {w} worker(s): not available: {why}")
        lines.append("")
    lines += ["### Targets", "", *target_checks(report, workers, connections), ""]
    cpu = cpu_lines(report, workers, connections)
    if cpu:
        lines += ["### Server CPU time per request (median of the rounds)", "", *cpu, ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ main


def int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("give positive integers, e.g. 1,16,64")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark (a) upstream, (b) pass-through floor, (c) authrelay's proxy."
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--connections", type=int_list, default=[1, 16, 64])
    parser.add_argument(
        "--workers",
        type=int_list,
        default=int_list(DEFAULT_WORKERS),
        help="uvicorn worker processes for (b) and (c); a list (1,2) measures each",
    )
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.10,
        help="re-measure when unrelated processes used more than this share of all CPUs",
    )
    parser.add_argument("--retries", type=int, default=2, help="re-measurements at most")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measurements of each target per connection count, interleaved; the report "
        "gives their median and range",
    )
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.retries < 0 or args.rounds < 1:
        parser.error("--duration and --rounds must be ≥ 1, --warmup and --retries ≥ 0")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the servers


@contextlib.contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="authrelay-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"logs and data kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def run_for_workers(
    wrk: str,
    args: argparse.Namespace,
    procs: Processes,
    upstream: Server,
    workers: int,
    report: Report,
    with_direct: bool,
) -> None:
    """(b) and (c) with this many uvicorn workers (and (a) once), interleaved per connection
    count so that slow drifts in the machine's load hit the compared rows alike."""
    passthrough = start_passthrough(procs, upstream, workers)
    data_dir = procs.log_dir / f"authrelay-data-w{workers}"
    data_dir.mkdir()
    authrelay = start_authrelay(procs, data_dir, workers)
    try:
        headers: dict[str, str] | None = setup_connected_account(authrelay, data_dir, upstream)
    except ProxyUnavailable as exc:
        headers = None
        report.unavailable[workers] = str(exc)
        print(f"(c) authrelay, {workers} worker(s): not available: {exc}", flush=True)
    # All three targets get the same request line and headers.
    request_headers = headers or {"connection_name": CONNECTION_NAME, "identifier": IDENTIFIER}
    direct = Target(
        "a",
        "(a) upstream direct",
        None,
        upstream.url + REQUEST_PATH,
        request_headers,
        upstream.process.pid,
    )
    floor = Target(
        "b",
        "(b) pass-through",
        workers,
        passthrough.url + REQUEST_PATH,
        request_headers,
        passthrough.process.pid,
    )
    proxied = Target(
        "c",
        "(c) authrelay",
        workers,
        authrelay.url + "/proxy" + REQUEST_PATH,
        request_headers,
        authrelay.process.pid,
    )
    targets = [direct] if with_direct else []
    targets.append(floor)
    if headers is not None:
        targets.append(proxied)
    for target in (t for t in targets if t.key != "c"):  # setup_connected_account checked (c)
        expect_upstream_body(target.url, target.headers, target.label)
    print(f"{workers} worker(s) for (b) and (c):", flush=True)
    for conns in args.connections:
        for rnd in range(args.rounds):
            # Every other round in reverse order, so neither proxy always goes first.
            ordered = targets if rnd % 2 == 0 else targets[::-1]
            report.rows += [measure(wrk, target, conns, args, procs, rnd) for target in ordered]
        if headers is None:
            report.rows.append(Row(proxied, conns, None, "not available"))
    procs.stop(authrelay)
    procs.stop(passthrough)


def run(args: argparse.Namespace) -> Report:
    wrk = ensure_wrk()
    busy = cpu_busy_fraction()
    report = Report(
        started=dt.datetime.now(dt.UTC),
        machine=machine_info(wrk),
        settings={
            "Duration": f"{args.duration}s per measurement after a {args.warmup}s warm-up, "
            "wrk threads = min(connections, 2)",
            "Rounds": f"{args.rounds} per target and connection count, interleaved (b, c, "
            "then c, b, ...); tables give the median and range of the rounds, and a "
            "throughput check is passed on the median of the rounds' (c)/(b) ratios, each "
            "round's (b) and (c) measured back to back",
            "Noise control": f"a measurement during which other processes used more than "
            f"{args.max_other_load:.0%} of the CPUs is repeated (at most {args.retries} times) "
            "and the quietest run is kept",
            "CPU busy before the run": f"{busy:.0%} (load average {load_average()})",
        },
    )
    if busy > 0.10:
        print(
            f"warning: the CPUs were {busy:.0%} busy before the run; numbers will be noisy",
            file=sys.stderr,
        )
    with work_dir(args.keep_logs) as tmp, running(tmp) as procs:
        upstream = start_upstream(procs)
        for i, workers in enumerate(args.workers):
            run_for_workers(wrk, args, procs, upstream, workers, report, with_direct=i == 0)
    report.rows.sort(
        key=lambda row: (row.target.key, row.target.workers or 0, row.connections, row.round)
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    sys.path.insert(0, str(BENCH_DIR))
    try:
        report = run(args)
    except HarnessError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    text = render(report, args.workers, args.connections)
    print()
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
