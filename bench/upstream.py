"""A tiny, fast HTTP/1.1 upstream for the benchmark: any request gets 200 and ~100 bytes of JSON.

Plain asyncio protocol on uvloop with the httptools parser (the same parser uvicorn uses), so it
costs far less per request than any Python proxy in front of it and is never the bottleneck.

A request whose path contains ``__echo_headers`` gets its request headers back as JSON instead;
the harness uses that once to check that authrelay injected the connected account's API key.

    python bench/upstream.py --port 9001
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import cast

import httptools
import uvloop

BODY = (
    b'{"ok":true,"service":"bench-upstream","message":"hello from the benchmark upstream",'
    b'"items":[1,2,3]}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
ECHO_MARKER = b"__echo_headers"


class UpstreamProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools, answer each as soon as it is complete."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._close()
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
            self._close()

    # httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        if self.transport is None:
            return
        if ECHO_MARKER in self.url:
            echoed = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.headers}
            body = json.dumps({"path": self.url.decode("latin-1"), "headers": echoed}).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        else:
            self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, host, port, backlog=1024, reuse_port=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"bench upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
