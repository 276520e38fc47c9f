"""The proxy's ASGI app: authenticate, resolve the route (cached), check the target, forward
with streaming both ways. A plain ASGI callable rather than a FastAPI route: this is the hot
path, and every layer costs (docs/benchmarks.md). A call reads as a chain of steps (see
`_handle`): parse the caller's request here, resolve its environment and route
(proxy/resolve.py), send it through the path tools share (proxy/send.py), relay the answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
from starlette.types import Receive, Scope, Send

from authrelay.asgi_errors import answer_error
from authrelay.errors import (
    FieldViolation,
    InvalidArgument,
    Unauthenticated,
    Unavailable,
)
from authrelay.http_headers import bearer_token, parse_host
from authrelay.observability import log_line
from authrelay.proxy.guard import CLIENT_OWNED, HOP_BY_HOP, PathRejected, check_path
from authrelay.proxy.placement import with_defaults
from authrelay.proxy.resolve import (
    RouteKey,
    cached_environment,
    environment_if_cached,
    loaded_route,
)
from authrelay.proxy.retry import IDEMPOTENT
from authrelay.proxy.routes import Route
from authrelay.proxy.send import Call, UploadWatch, send_upstream

if TYPE_CHECKING:
    from authrelay.observability import Metrics
    from authrelay.runtime import Runtime

log = logging.getLogger("authrelay.proxy")

PREFIX = "/proxy"
# The caller's headers that stay here: those no caller sets upstream (proxy.guard, shared
# with tools), its API token and cookies, and the route's names.
_NOT_FORWARDED = CLIENT_OWNED | {b"authorization", b"cookie", b"connection_name", b"identifier"}
# What reading an upstream's body raises when the body ends early or stalls.
_CUT_OFF = (aiohttp.ClientError, TimeoutError)
# Set when the proxy ends a response on purpose without completing it (see _EndedEarly).
_ENDED_EARLY: ContextVar[bool] = ContextVar("authrelay_proxy_ended_early", default=False)
_INCOMPLETE = "ASGI callable returned without completing response."


class _EndedEarly(logging.Filter):
    """ASGI has one way to cut a response off: return before completing it, and the server
    closes the connection, logging an ERROR. When the proxy does that on purpose (the
    upstream's answer was cut off, and the proxy logged a WARNING), that ERROR is dropped.
    The flag lives in the request's task context, which the server's log call shares."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _INCOMPLETE and _ENDED_EARLY.get())


_ENDED_EARLY_FILTER = _EndedEarly()


class ProxyApp:
    def __init__(self) -> None:
        # Set by the application's lifespan while the server runs.
        self.runtime: Runtime | None = None
        logging.getLogger("uvicorn.error").addFilter(_ENDED_EARLY_FILTER)  # once per filter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        runtime = self.runtime
        if runtime is None:
            error = Unavailable("the server is not running")
            await answer_error(send, error, started=False, log=log, marked=True)
            return
        info = {
            "connection": "",
            "identifier": "",
            "method": scope["method"],
            "path": scope["path"],
        }
        try:
            await _handle(runtime, scope, receive, send, info)
        except Exception as exc:  # "status" is set once the response has started
            info["status"] = await answer_error(
                send,
                exc,
                started="status" in info,
                log=log,
                what="proxy failure",
                extra=info,
                marked=True,
            )
        finally:
            elapsed = time.perf_counter() - start
            runtime.metrics.count_proxied(info.get("status", 0))
            info["duration_ms"] = round(elapsed * 1000, 2)
            log_line(log, "proxy", info)


class _Asked(NamedTuple):
    """What the caller's request says in its headers, read in one pass."""

    token: str
    host: str
    connection: str
    identifier: str
    content_length: str
    has_body: bool
    not_forwarded: frozenset[bytes]  # the caller's headers that stay here


async def _handle(
    runtime: Runtime, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]
) -> None:
    """One proxied call: parse → resolve → send (renewing the token if needed) → relay."""
    asked = _parse(scope["headers"])
    # The cached answers without a coroutine (proxy/resolve.py); a miss loads them.
    token, host = asked.token, asked.host
    env_id = environment_if_cached(runtime, token, host) or await cached_environment(
        runtime, token, host
    )
    key = _route_key(env_id, asked, info)
    rest = _rest_of_path(scope)
    route: Route = runtime.proxy_cache.cached_route(key) or await loaded_route(runtime, key)
    call = _call(runtime, scope, receive, asked, key, rest, route)
    if call.body is not None and _may_resend(runtime, call, route, asked.content_length):
        call = await _kept(call, receive)
    response = await send_upstream(runtime, call, route, info)
    try:
        await _relay(response, send, info, runtime.metrics)
    finally:
        response.release()


def _parse(raw_headers: list[tuple[bytes, bytes]]) -> _Asked:
    """The API token, the host, the route's names and the body's framing from the
    caller's headers; Unauthenticated without a token."""
    token = connection = identifier = host = content_length = ""
    not_forwarded = _NOT_FORWARDED
    has_body = False
    for name, value in raw_headers:
        if name == b"authorization":
            token = bearer_token(value.decode("latin-1")) or ""
        elif name == b"connection_name":
            connection = value.decode("latin-1")
        elif name == b"identifier":
            identifier = value.decode("latin-1")
        elif name == b"host":
            host = parse_host(value.decode("latin-1"))[0]
        elif name == b"connection":
            # Headers the caller named in Connection are hop-by-hop too (RFC 9110 7.6.1).
            not_forwarded = not_forwarded | {
                t.strip().lower().encode() for t in value.decode("latin-1").split(",")
            }
        elif name == b"content-length":
            content_length = value.decode("latin-1").strip()
            has_body = content_length not in ("", "0")
        elif name == b"transfer-encoding":
            has_body = True
    if not token:
        raise Unauthenticated(
            "missing API token: send Authorization: Bearer <token> from POST /oauth/token"
        )
    return _Asked(token, host, connection, identifier, content_length, has_body, not_forwarded)


def _route_key(env_id: str, asked: _Asked, info: dict[str, Any]) -> RouteKey:
    """The route the call names (both headers are required); noted in the log line."""
    connection, identifier = asked.connection, asked.identifier
    missing = [h for h, v in (("connection_name", connection), ("identifier", identifier)) if not v]
    if missing:
        raise InvalidArgument.from_violations(
            [FieldViolation(h, "header is required") for h in missing]
        )
    info["connection"], info["identifier"] = connection, identifier
    return env_id, connection, identifier


def _rest_of_path(scope: Scope) -> str:
    """The path after `/proxy/`, as sent (percent-encoding kept), once it is safe to send."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    rest = raw_path.decode("latin-1")[len(PREFIX) :]
    rest = rest[1:] if rest.startswith("/") else rest
    try:
        return check_path(rest)
    except PathRejected as exc:
        raise InvalidArgument.from_violations([FieldViolation("path", str(exc))]) from None


def _call(
    runtime: Runtime,
    scope: Scope,
    receive: Receive,
    asked: _Asked,
    key: RouteKey,
    rest: str,
    route: Route,
) -> Call:
    """The upstream call: the caller's headers minus the ones that are not forwarded and any
    the caller sent under the name of a header the route adds (the credential header,
    proxy_headers; those are added per attempt), and the body streamed as it arrives."""
    sent_keys = route.sent_keys
    not_forwarded = asked.not_forwarded
    forward = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in scope["headers"]
        if name not in not_forwarded and name not in sent_keys
    ]
    if route.defaults:
        forward = with_defaults(forward, route.defaults)
    has_body = asked.has_body
    if has_body and asked.content_length:
        forward.append(("Content-Length", asked.content_length))
    watch = UploadWatch(runtime.settings.proxy_read_timeout) if has_body else None
    body = _request_body(receive, watch) if has_body else None
    query = scope.get("query_string", b"")
    return Call(key, scope["method"], rest, query, forward, body, not has_body, watch)


def _may_resend(runtime: Runtime, call: Call, route: Route, content_length: str) -> bool:
    """Whether the body is kept, so that the call can be sent again: an OAuth call may be
    after a renewal, and a call under a retry policy (idempotent methods only) up to its
    max_attempts. Only a small body of known length is kept; others stream through, once."""
    if not (route.oauth or (route.retry is not None and call.method in IDEMPOTENT)):
        return False
    return content_length.isdigit() and int(content_length) <= runtime.settings.retry_body_limit


async def _kept(call: Call, receive: Receive) -> Call:
    """`call` with its body read whole (see _may_resend)."""
    body = b"".join([chunk async for chunk in _request_body(receive, None)])
    return call._replace(body=body, replayable=True)


async def _request_body(receive: Receive, watch: UploadWatch | None) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError("client went away")
        chunk = message.get("body", b"")
        if chunk:
            if watch is None:
                yield chunk
            else:
                watch.handed()
                yield chunk
                watch.taken()
        if not message.get("more_body", False):
            return


_SMALL_BODY = 65536


async def _relay(
    response: aiohttp.ClientResponse, send: Send, info: dict[str, Any], metrics: Metrics
) -> None:
    headers = [
        (name.lower(), value)
        for name, value in response.raw_headers
        if name.lower() not in HOP_BY_HOP
    ]
    info["status"] = response.status
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    length = response.content_length
    if length is not None and length <= _SMALL_BODY:
        # A small body of known length goes in one message (fewer sends, same bytes).
        try:
            body = await response.read()
        except _CUT_OFF as exc:
            _cut_off(info, exc, metrics)
            return
        await send({"type": "http.response.body", "body": body})
        return
    content = response.content
    while True:
        try:
            chunk = await content.readany()
        except _CUT_OFF as exc:
            _cut_off(info, exc, metrics)
            return
        if not chunk:
            break
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _cut_off(info: dict[str, Any], exc: BaseException, metrics: Metrics) -> None:
    """The upstream's answer ended before its body did (or stalled past the read timeout):
    the caller's response is cut off as well, by returning without completing it. One
    WARNING line, no stack: this is the upstream's failure, not the proxy's."""
    _ENDED_EARLY.set(True)
    metrics.count_truncated()
    log.warning(
        "upstream answer cut off",
        extra={
            "connection": info["connection"],
            "identifier": info["identifier"],
            "method": info["method"],
            "path": info["path"],  # without the query string, which may hold secrets
            "status": info["status"],
            "error": type(exc).__name__,
        },
    )
