"""The floor: a minimal Starlette pass-through proxy with no lookups and no auth.

Every request is forwarded to ``BENCH_UPSTREAM_URL`` (same method, path, query, headers and
body) through ONE shared ``aiohttp.ClientSession`` per worker, created at startup (keep-alive
pool sized for 64+ concurrent connections, ``auto_decompress=False``), and the upstream's body is
streamed back. Whatever authrelay's proxy costs on top of this is the price of its lookups.

Run it as the benchmark does (uvicorn with uvloop and httptools):

    BENCH_UPSTREAM_URL=http://127.0.0.1:9001 .venv/bin/uvicorn --app-dir bench passthrough:app \\
        --host 127.0.0.1 --port 9002 --loop uvloop --http httptools --no-access-log --workers 1
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from yarl import URL

UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL", "http://127.0.0.1:9001").rstrip("/")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Hop-by-hop headers (RFC 9110 section 7.6.1) and the ones the client library sets itself.
REQUEST_SKIP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
RESPONSE_SKIP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=512, limit_per_host=512, keepalive_timeout=60)
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=60, connect=5),
        skip_auto_headers=("User-Agent",),
    )
    app.state.session = session
    try:
        yield
    finally:
        await session.close()


async def stream_body(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    finally:
        upstream.release()


async def forward(request: Request) -> Response:
    session: aiohttp.ClientSession = request.app.state.session
    scope = request.scope
    target = UPSTREAM_URL + scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    headers = [(k, v) for k, v in request.headers.items() if k not in REQUEST_SKIP]
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    try:
        upstream = await session.request(
            request.method,
            URL(target, encoded=True),
            headers=headers,
            data=request.stream() if has_body else None,
            allow_redirects=False,
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Response(f"upstream error: {type(exc).__name__}\n", status_code=502)
    response = StreamingResponse(stream_body(upstream), status_code=upstream.status)
    response.raw_headers = [
        (k.lower(), v) for k, v in upstream.raw_headers if k.lower() not in RESPONSE_SKIP
    ]
    return response


app = Starlette(
    routes=[
        Route("/", forward, methods=METHODS),
        Route("/{path:path}", forward, methods=METHODS),
    ],
    lifespan=lifespan,
)
