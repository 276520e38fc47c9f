"""The floor: a minimal pass-through proxy with no lookups and no auth, as a plain ASGI app.

Every request is forwarded to ``BENCH_UPSTREAM_URL`` (same method, path, query, headers and
body) through ONE shared ``aiohttp.ClientSession`` per worker, created at startup (keep-alive
pool sized for 64+ concurrent connections, ``auto_decompress=False``), and the upstream's body is
streamed back. No framework layer sits in between: whatever authrelay's proxy costs on top of
this is the price of its authentication, lookups and checks.

Run it as the benchmark does (uvicorn with uvloop and httptools):

    BENCH_UPSTREAM_URL=http://127.0.0.1:9001 .venv/bin/uvicorn --app-dir bench passthrough:app \\
        --host 127.0.0.1 --port 9002 --loop uvloop --http httptools --no-access-log --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL", "http://127.0.0.1:9001").rstrip("/")
# Hop-by-hop headers (RFC 9110 section 7.6.1), plus Host, which the client sets for the upstream.
# Content-Length is forwarded as is, so a body of known length is not re-chunked.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
REQUEST_SKIP = HOP_BY_HOP | {b"host"}
BAD_GATEWAY = b"upstream error\n"


class PassThrough:
    """ASGI app: lifespan owns the shared client session; every HTTP request is forwarded."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.forward(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connector = aiohttp.TCPConnector(
                    limit=512, limit_per_host=512, keepalive_timeout=60
                )
                self.session = aiohttp.ClientSession(
                    connector=connector,
                    auto_decompress=False,
                    timeout=aiohttp.ClientTimeout(total=60, connect=5),
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.session is not None, "lifespan startup has not run"
        target = UPSTREAM_URL + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers: list[tuple[str, str]] = []
        has_body = False
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                has_body = has_body or value.strip() not in (b"", b"0")
            if name not in REQUEST_SKIP:
                headers.append((name.decode("latin-1"), value.decode("latin-1")))
        try:
            upstream = await self.session.request(
                scope["method"],
                URL(target, encoded=True),
                headers=headers,
                data=request_body(receive) if has_body else None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError):
            await send(
                {
                    "type": "http.response.start",
                    "status": 502,
                    "headers": [(b"content-length", str(len(BAD_GATEWAY)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": BAD_GATEWAY})
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": upstream.status,
                    "headers": [
                        (k.lower(), v)
                        for k, v in upstream.raw_headers
                        if k.lower() not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in upstream.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            upstream.release()


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The client's body, streamed to the upstream as it arrives."""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body", False):
            return


app = PassThrough()
