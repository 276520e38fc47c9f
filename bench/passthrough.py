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
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
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
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )
    app.state.session = session
    try:
        yield
    finally:
        await session.close()


class UpstreamResponse(Response):
    """Streams an aiohttp response back chunk by chunk, then returns its connection to the pool.

    Starlette's ``StreamingResponse`` is not used on purpose: under uvicorn (ASGI spec 2.3) it
    runs every response in an anyio task group with a disconnect listener, which roughly halved
    this proxy's throughput when measured. A disconnected client here surfaces as an error from
    ``send``, which ends the loop just the same.
    """

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        self.upstream = upstream
        self.status_code = upstream.status
        self.background = None
        self.raw_headers = [
            (k.lower(), v) for k, v in upstream.raw_headers if k.lower() not in RESPONSE_SKIP
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = self.upstream
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in upstream.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            upstream.release()


async def forward(request: Request) -> Response:
    session: aiohttp.ClientSession = request.app.state.session
    scope = request.scope
    target = UPSTREAM_URL + scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    # Content-Length is forwarded as is, so a body of known length is not re-chunked.
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
    return UpstreamResponse(upstream)


app = Starlette(
    routes=[
        Route("/", forward, methods=METHODS),
        Route("/{path:path}", forward, methods=METHODS),
    ],
    lifespan=lifespan,
)
