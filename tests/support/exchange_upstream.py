"""A real token-exchange upstream (aiohttp.web in its own thread): `POST /exchange` trades
credentials for a token (JSON or form body), and `/api/...` answers only requests whose
Authorization header carries a live token. Every request is recorded."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.servers import free_port


@dataclass
class Seen:
    path: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, str]


@dataclass
class ExchangeUpstream:
    """`credentials`: the client_id -> client_secret pairs it accepts. `ttl`: the
    expires_in it answers (None: none). `delay`: seconds before answering an exchange.
    `fail_status`: answer exchanges with this status (and a body echoing what was sent)."""

    credentials: dict[str, str] = field(default_factory=dict)
    ttl: float | None = None
    delay: float = 0.0
    fail_status: int | None = None
    port: int = 0
    exchanges: list[Seen] = field(default_factory=list)
    api_calls: list[Seen] = field(default_factory=list)
    live: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def revoke_all(self) -> None:
        self.live.clear()

    async def _seen(self, request: web.Request) -> Seen:
        body = await request.read()
        fields: dict[str, str] = {}
        if request.content_type == "application/json":
            parsed = json.loads(body or b"{}")
            fields = {str(k): str(v) for k, v in parsed.items()}
        elif request.content_type == "application/x-www-form-urlencoded":
            fields = {k: str(v) for k, v in (await request.post()).items()}
        return Seen(
            request.path,
            request.content_type,
            {k.lower(): v for k, v in request.headers.items()},
            body,
            fields,
        )

    async def _exchange(self, request: web.Request) -> web.Response:
        seen = await self._seen(request)
        self.exchanges.append(seen)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_status is not None:
            echo = json.dumps({"error": "refused", "you_sent": seen.fields})
            return web.Response(status=self.fail_status, text=echo, content_type="application/json")
        client_id = seen.fields.get("client_id", "")
        if not client_id or self.credentials.get(client_id) != seen.fields.get("client_secret"):
            return web.json_response({"error": "bad credentials"}, status=401)
        token = f"xtok-{len(self.issued) + 1}-{secrets.token_hex(8)}"
        self.issued.append(token)
        self.live.add(token)
        data: dict[str, Any] = {"token": token}
        if self.ttl is not None:
            data["expires_in"] = self.ttl
        return web.json_response({"data": data, "ok": True})

    async def _api(self, request: web.Request) -> web.Response:
        seen = await self._seen(request)
        self.api_calls.append(seen)
        auth = request.headers.get("X-Session", request.headers.get("Authorization", ""))
        token = auth.removeprefix("Bearer ").removeprefix("Session ")
        if token not in self.live:
            return web.json_response({"error": "token not valid"}, status=401)
        return web.json_response({"ok": True, "path": request.path, "token_used": token[:7]})

    def start(self) -> ExchangeUpstream:
        ready = threading.Event()
        self.port = free_port()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("POST", "/exchange{tail:.*}", self._exchange)
            app.router.add_route("*", "/api/{tail:.*}", self._api)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
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


SECRET_FIELDS = [
    {"field_name": "client_id", "label": "Client ID", "required": True},
    {
        "field_name": "client_secret",
        "label": "Client secret",
        "input_type": "password",
        "required": True,
    },
]


def definition(name: str, up: ExchangeUpstream, **exchange: Any) -> dict[str, Any]:
    """A TOKEN_EXCHANGE provider definition named `name` against `up` (client_id and
    client_secret as fields); `exchange` adds to or replaces keys of the exchange block."""
    block: dict[str, Any] = {
        "url": f"{up.url}/exchange",
        "body": {"client_id": "{{client_id}}", "client_secret": "{{client_secret}}"},
        "token_path": "data.token",
        **exchange,
    }
    return {
        "display_name": name,
        "proxy_url": f"{up.url}/api",
        "proxy_enabled": True,
        "auth_patterns": [
            {"type": "TOKEN_EXCHANGE", "fields": SECRET_FIELDS, "token_exchange": block}
        ],
    }
