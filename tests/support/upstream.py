"""A real HTTP upstream (aiohttp.web in its own thread) that records every request it gets."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.servers import free_port


@dataclass
class Recorded:
    method: str
    raw_path: str  # path and query exactly as received
    headers: list[tuple[str, str]]
    body: bytes
    body_size: int
    body_sha256: str

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def header_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


@dataclass
class RecordingUpstream:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def clear(self) -> None:
        self.requests.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        digest = hashlib.sha256()
        size = 0
        kept = bytearray()
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
            if len(kept) < 65536:
                kept.extend(chunk[: 65536 - len(kept)])
        self.requests.append(
            Recorded(
                request.method,
                request.raw_path,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
                bytes(kept),
                size,
                digest.hexdigest(),
            )
        )
        path = request.path
        if "/status/" in path:
            code = int(path.split("/status/")[1].split("/")[0])
            return web.Response(
                status=code,
                body=b'{"upstream_error": true}',
                headers={"Content-Type": "application/json", "X-Upstream": "yes",
                         "Set-Cookie": "upstream=1"},
            )  # fmt: skip
        if path.endswith("/html"):
            return web.Response(status=200, body=b"<html>not json</html>", content_type="text/html")
        if "/redirect" in path:
            return web.Response(status=302, headers={"Location": request.query.get("to", "/")})
        if "/big/" in path:
            total = int(path.split("/big/")[1].split("/")[0])
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            response.content_length = total
            await response.prepare(request)
            block = b"x" * 65536
            sent = 0
            while sent < total:
                piece = block[: min(len(block), total - sent)]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
            return response
        if "/slow" in path:
            await asyncio.sleep(float(request.query.get("s", "3")))
        return web.json_response(
            {"method": request.method, "path": request.raw_path, "size": size},
            headers={"X-Upstream": "yes", "Connection": "keep-alive", "Keep-Alive": "timeout=5"},
        )

    def start(self) -> RecordingUpstream:
        ready = threading.Event()
        self.port = free_port()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(client_max_size=1024**3)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            # let closing (TLS) transports finish before the loop goes away
            loop.run_until_complete(asyncio.sleep(0.2))
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def provider_definition(name: str, upstream: Any, **pattern: Any) -> dict[str, Any]:
    kind = pattern.pop("type", "API_KEY")
    fields = pattern.pop("fields", None)
    if fields is None:
        field_name = {"API_KEY": "api_key", "BEARER": "token", "BASIC": "username"}[kind]
        fields = [
            {
                "field_name": field_name,
                "label": "Secret",
                "input_type": "password",
                "required": True,
            }
        ]
    proxy_url = pattern.pop("proxy_url", f"{upstream.url}/api")
    return {
        "display_name": name,
        "auth_patterns": [{"type": kind, "fields": fields, **pattern}],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }
