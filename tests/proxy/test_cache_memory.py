"""The proxy's caches keep nothing per call and stay within their bounds (issue 10, defect 1).

Counted, never timed: objects the garbage collector tracks after many calls, cache entries
and estimated bytes as /metrics reports them, and allocations traced by tracemalloc.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from authrelay.auth.clients import issue_client
from authrelay.config import Settings
from authrelay.proxy.app import ProxyApp
from authrelay.runtime import create_runtime
from authrelay.store.environments import get_environment
from tests.support.proxy import enable, proxy_headers
from tests.support.servers import Backend, start_server
from tests.support.servers import create_client as cli_create_client
from tests.support.upstream import RecordingUpstream, provider_definition


async def _call(proxy: ProxyApp, token: str, connection: str, identifier: str) -> int:
    """One GET /proxy/x through the real ASGI app; returns the status it answered."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/proxy/x",
        "raw_path": b"/proxy/x",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"connection_name", connection.encode()),
            (b"identifier", identifier.encode()),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await proxy(scope, receive, send)
    return int(sent[0]["status"])


async def _tracked_growth(data_dir: Path, calls: int) -> int:
    """Objects the cyclic GC tracks, after `calls` more calls for one unknown connection and
    identifier than after a warm-up: what each such call leaves behind."""
    settings = Settings(data_dir=data_dir)
    runtime = await create_runtime(settings)
    try:
        async with runtime.sessions() as session:
            env = await get_environment(session, "dev")
            assert env is not None
            client = await issue_client(session, env)
            await session.commit()
        token, _ = runtime.tokens.issue(env.id, client.client_id, "test-jti")
        proxy = ProxyApp()
        proxy.runtime = runtime
        for _ in range(50):  # warm-up: the first miss, lazily built objects
            assert await _call(proxy, token, "no-such-connection", "nobody") == 404
        gc.collect()
        before = len(gc.get_objects())
        for _ in range(calls):
            assert await _call(proxy, token, "no-such-connection", "nobody") == 404
        gc.collect()
        return len(gc.get_objects()) - before
    finally:
        await runtime.close()


def test_repeated_unknown_identifier_leaves_nothing_behind(tmp_path: Path) -> None:
    # The proxy's log line goes through `logging` in-process, and pytest keeps every record:
    # turned off here so that only the proxy's own retention is counted.
    logger = logging.getLogger("authrelay.proxy")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        growth = asyncio.run(_tracked_growth(tmp_path / "data", 500))
    finally:
        logger.setLevel(level)
    # A cached exception re-raised on every hit kept a traceback and its frames per call:
    # thousands of objects for 500 calls. Now a hit leaves nothing.
    assert growth < 50, f"{growth} more tracked objects after 500 calls"


def _metric(text: str, name: str, cache: str) -> float:
    match = re.search(rf'^{name}{{cache="{cache}"}} ([0-9.e+]+)$', text, re.M)
    assert match, f"{name}{{cache={cache!r}}} not in /metrics"
    return float(match.group(1))


@pytest.fixture
def small_cache_server(backend: Backend, tmp_path: Path) -> Any:
    server = start_server(
        backend,
        tmp_path,
        AUTHRELAY_PROXY_CACHE_MAX_ENTRIES="40",
        AUTHRELAY_PROXY_CACHE_MAX_BYTES="65536",
    )
    yield server
    server.stop()


def test_route_cache_stays_within_its_bounds(
    small_cache_server: Any, upstream: RecordingUpstream, unique: str
) -> None:
    server = small_cache_server
    client = cli_create_client(server.backend, "dev")
    connection = f"bounded-{unique}"
    with server.api(client) as api:
        enable(
            api,
            provider_definition(f"Bounded {unique}", upstream),
            connection,
            "known-user",
            {"api_key": "k"},
        )
        token = api.headers["Authorization"]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            statuses = []
            for i in range(150):  # distinct unknown identifiers: 150 negative answers
                answer = http.get(
                    "/proxy/x",
                    headers=proxy_headers(connection, f"unknown-{i}", Authorization=token),
                )
                statuses.append(answer.status_code)
            known = http.get(
                "/proxy/x", headers=proxy_headers(connection, "known-user", Authorization=token)
            )
            metrics = http.get("/metrics").text
    assert set(statuses) == {404}
    assert known.status_code == 200
    # Error answers live in their own cache with a quarter of the bounds (10 entries,
    # 16 KiB), so the flood neither grew past them nor pushed the known route out.
    entries = _metric(metrics, "authrelay_cache_entries", "negatives")
    size = _metric(metrics, "authrelay_cache_bytes", "negatives")
    evicted = _metric(metrics, "authrelay_cache_evictions_total", "negatives")
    assert 1 <= entries <= 10
    assert 0 < size <= 16384
    assert evicted > 0
    assert _metric(metrics, "authrelay_cache_entries", "routes") == 1
    assert 0 < _metric(metrics, "authrelay_cache_bytes", "routes") <= 65536
