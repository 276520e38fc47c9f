"""A hostile upstream (aiohttp.web in its own thread) that answers every request with an
error echoing what it received, in one encoding named by the path: what authrelay must
never pass on.

- `POST /token/<encoding>`: a token endpoint's 400, `{"error": "invalid_client",
  "error_description": <echo>}`;
- `<any>/fail/<status>/<encoding>/...`: `<status>` with `{"got": <echo>}` (a tool upstream).

The echo holds, in that encoding, the decoded credentials first (form and query values, a
Basic header's `user:password` and its parts, a bearer token), then every header value,
the raw body and the raw query.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, quote_plus

from aiohttp import web

from tests.support.servers import free_port


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote_plus": quote_plus,
    "lowerhex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s, safe="")),
    "json": lambda s: json.dumps(s),
    "html": html.escape,
    "base64": _b64,
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
}


def received(headers: list[tuple[str, str]], body: str, query: str) -> list[str]:
    """What a request carried, decoded credentials first."""
    out = [v for _, v in parse_qsl(body)] + [v for _, v in parse_qsl(query)]
    for name, value in headers:
        scheme, _, rest = value.partition(" ")
        if name.lower() == "authorization" and scheme.lower() == "basic":
            pair = base64.b64decode(rest).decode()
            out.extend([pair, *pair.partition(":")[::2]])
        elif name.lower() == "authorization" and rest:
            out.append(rest)
    out += [v for _, v in headers] + [body, query]
    return [s for s in out if s]


class EchoUpstream:
    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.count += 1
        body = (await request.read()).decode("utf-8", errors="replace")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        query = request.raw_path.partition("?")[2]
        parts = request.path.strip("/").split("/")
        if parts[0] == "token":
            encode = ENCODINGS[parts[1]]
            echo = " | ".join(encode(s) for s in received(headers, body, query))
            return web.json_response(
                {"error": "invalid_client", "error_description": echo}, status=400
            )
        at = parts.index("fail")
        status, encode = int(parts[at + 1]), ENCODINGS[parts[at + 2]]
        echo = " | ".join(encode(s) for s in received(headers, body, query))
        return web.json_response({"got": echo}, status=status)

    def start(self) -> EchoUpstream:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)


def spelled(secret: str) -> set[str]:
    """`secret` in each of ENCODINGS, and percent-encoded twice (a form body or a Basic pair
    echoed encoded once more)."""
    out = {encode(secret) for encode in ENCODINGS.values()}
    out |= {json.dumps(secret)[1:-1]} | {s.rstrip("=") for s in out}
    for once in (quote(secret, safe=""), quote_plus(secret)):
        out |= {quote(once, safe=""), quote_plus(once)}
    return out


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Each spelling of `secrets` (see `spelled`) that `text` holds."""
    return sorted(form for secret in secrets for form in spelled(secret) if form in text)


def strings_of(value: object) -> str:
    """Every string (keys included) and scalar of a JSON value, one per line: what a leak
    scan reads of an answer's parsed body."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(strings_of(k) + "\n" + strings_of(v) for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(strings_of(v) for v in value)
    return str(value)
