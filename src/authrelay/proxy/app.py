"""The proxy's ASGI app: authenticate, resolve the route (cached), check the target, forward
with streaming both ways. A plain ASGI callable rather than a FastAPI route: this is the hot
path, and every layer costs (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from authrelay.asgi_errors import answer_error
from authrelay.errors import (
    AuthrelayError,
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from authrelay.http_headers import bearer_token, parse_host
from authrelay.observability import log_line
from authrelay.proxy.guard import (
    BlockedAddress,
    PathRejected,
    blocked_cause,
    check_host,
    check_path,
)
from authrelay.proxy.placement import with_credential, with_defaults
from authrelay.proxy.retry import IDEMPOTENT, with_retries
from authrelay.proxy.routes import Route, load_route
from authrelay.store.environments import bound_hosts, get_client

if TYPE_CHECKING:
    from authrelay.observability import Metrics
    from authrelay.runtime import Runtime

log = logging.getLogger("authrelay.proxy")

PREFIX = "/proxy"
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
}
_NOT_FORWARDED = _HOP_BY_HOP | {
    b"host",
    b"authorization",
    b"cookie",
    b"connection_name",
    b"identifier",
    b"content-length",
    # The caller's 100-continue is answered by the server in front of the proxy (when the
    # proxy first reads the body, after authentication and routing); forwarded, it would
    # make the HTTP client wait for a 100 the upstream may never send (docs/api.md).
    b"expect",
}
_MAX_REDIRECTS = 5
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


class _UploadWatch:
    """Bounds how long the upstream may sit on the request body. The HTTP client's read
    timeout starts only once the whole body is sent, so an upstream that stops taking it
    would hold the call forever; this cancels the call when one chunk handed to the
    upstream is not taken within the read timeout (time spent waiting on the caller for
    the next chunk does not count)."""

    __slots__ = ("limit", "timeout", "waiting")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.timeout: asyncio.Timeout | None = None  # set while the request is under way
        self.waiting = False

    def handed(self) -> None:
        self.waiting = True
        if self.timeout is not None:
            self.timeout.reschedule(asyncio.get_running_loop().time() + self.limit)

    def taken(self) -> None:
        self.waiting = False
        if self.timeout is not None:
            self.timeout.reschedule(None)


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
            await self._handle(runtime, scope, receive, send, info)
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

    async def _principal_env(self, runtime: Runtime, token: str, host: str) -> str:
        claims = runtime.tokens.verify(token)
        cache = runtime.proxy_cache
        # Local names throughout: the cache may be cleared by another task at any await.
        hosts = cache.hosts
        if hosts is None:
            hosts = await cache.load_once(("hosts",), lambda: _read_hosts(runtime))
            cache.hosts = hosts
        bound = hosts.get(host)
        if bound is not None and bound != claims.environment_id:
            raise Unauthenticated("the access token belongs to another environment")
        client_env = cache.clients.get(claims.client_id)
        if client_env is None:
            read_at = cache.clients.clears
            client_env = await cache.load_once(
                ("client", claims.client_id), lambda: _read_client_env(runtime, claims.client_id)
            )
            cache.clients.put(claims.client_id, client_env, read_at)
        if client_env != claims.environment_id:
            raise Unauthenticated("the API client of this access token no longer exists")
        return claims.environment_id

    async def _route(
        self, runtime: Runtime, env_id: str, connection: str, identifier: str
    ) -> Route:
        key = (env_id, connection, identifier)
        cache = runtime.proxy_cache
        route = cache.cached_route(key)  # raises a cached error answer anew
        if route is None:
            read_at = cache.routes.clears
            try:
                route = await load_route(
                    runtime.targets,
                    runtime.keyring,
                    runtime.catalog,
                    runtime.settings.allowlist,
                    env_id,
                    connection,
                    identifier,
                    providers=runtime.provider_cache,
                )
            except AuthrelayError as exc:
                cache.remember_route(key, exc, read_at)  # as data, never as the exception
                raise
            cache.remember_route(key, route, read_at)
        assert isinstance(route, Route)
        return route

    async def _handle(
        self, runtime: Runtime, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]
    ) -> None:
        token = connection = identifier = host = content_length = ""
        not_forwarded = _NOT_FORWARDED
        has_body = False
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
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
        env_id = await self._principal_env(runtime, token, host)
        missing = [
            h for h, v in (("connection_name", connection), ("identifier", identifier)) if not v
        ]
        if missing:
            raise InvalidArgument.from_violations(
                [FieldViolation(h, "header is required") for h in missing]
            )
        info["connection"], info["identifier"] = connection, identifier
        raw_path = scope.get("raw_path") or scope["path"].encode()
        rest = raw_path.decode("latin-1")[len(PREFIX) :]
        rest = rest[1:] if rest.startswith("/") else rest
        try:
            rest = check_path(rest)
        except PathRejected as exc:
            raise InvalidArgument.from_violations([FieldViolation("path", str(exc))]) from None
        key = (env_id, connection, identifier)
        route = await self._route(runtime, env_id, connection, identifier)
        refresher = runtime.refresher
        if route.oauth and not route.usable(runtime.settings.refresh_margin_seconds):
            route = await refresher.fresh_route(route, key)
        url = _target_url(route, rest, scope.get("query_string", b""))
        # The caller's headers minus the ones that are not forwarded and any the caller sent
        # under the name of a header the route adds (the credential header, proxy_headers);
        # those are added per attempt.
        sent_keys = route.sent_keys
        forward = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in raw_headers
            if name not in not_forwarded and name not in sent_keys
        ]
        if route.defaults:
            forward = with_defaults(forward, route.defaults)
        if has_body and content_length:
            forward.append(("Content-Length", content_length))
        watch = _UploadWatch(runtime.settings.proxy_read_timeout) if has_body else None
        body: AsyncIterator[bytes] | bytes | None = (
            _request_body(receive, watch) if has_body else None
        )
        # An OAuth call may be retried once after a refresh, and a call under a retry policy
        # (idempotent methods only) up to its max_attempts, so a small body is kept; larger
        # ones (or ones of unknown length) stream through, and are sent once.
        method = scope["method"]
        policy = route.retry if route.retry is not None and method in IDEMPOTENT else None
        replayable = not has_body
        limit = runtime.settings.retry_body_limit
        if (route.oauth or policy is not None) and has_body and content_length.isdigit():
            if int(content_length) <= limit:
                body = b"".join([chunk async for chunk in _request_body(receive, None)])
                replayable = True
        response = await self._upstream(runtime, method, url, forward, body, route, watch)
        if response.status == 401 and route.oauth and replayable:
            response.release()
            route = await refresher.fresh_route(route, key, rejected=True)
            response = await self._upstream(runtime, method, url, forward, body, route, watch)
        if policy is not None and replayable and response.status in policy.on_status:
            last = route

            def again() -> Awaitable[aiohttp.ClientResponse]:
                return self._upstream(runtime, method, url, forward, body, last, watch)

            response = await with_retries(response, policy, again, info)
            runtime.metrics.count_retries(info.get("retries", 0))
        runtime.last_used.mark(route.account_id)
        try:
            await _relay(response, send, info, runtime.metrics)
        finally:
            response.release()

    async def _upstream(
        self,
        runtime: Runtime,
        method: str,
        url: URL,
        forward: list[tuple[str, str]],
        body: AsyncIterator[bytes] | bytes | None,
        route: Route,
        watch: _UploadWatch | None = None,
    ) -> aiohttp.ClientResponse:
        """The upstream's response to `forward` plus the route's credential header, following
        redirects only when the setting allows it (never with the credential to another
        origin). A body is sent under `watch` (see _UploadWatch)."""
        settings = runtime.settings
        headers = [*forward, *route.sent]
        for hop in range(_MAX_REDIRECTS + 1):
            try:
                if hop:  # the route's own host was checked when the route was loaded
                    check_host(url.host or "", settings.allowlist)
                if watch is None or body is None:
                    response = await runtime.proxy_http.request(
                        method, url, headers=headers, data=body, allow_redirects=False
                    )
                else:
                    data = _handed(body, watch) if isinstance(body, bytes) else body
                    try:
                        async with asyncio.timeout(None) as watch.timeout:
                            response = await runtime.proxy_http.request(
                                method, url, headers=headers, data=data, allow_redirects=False
                            )
                    finally:
                        watch.timeout = None
            except BlockedAddress as exc:
                raise PermissionDenied(f"upstream target refused: {exc}") from None
            except TimeoutError:
                what = "take the request body" if watch and watch.waiting else "answer"
                raise DeadlineExceeded(
                    f"the upstream did not {what} within {settings.proxy_read_timeout:g}s"
                ) from None
            except aiohttp.InvalidURL:
                raise InvalidArgument("the upstream URL is not valid") from None
            except aiohttp.ClientError as exc:
                blocked = blocked_cause(exc)
                if blocked is not None:
                    raise PermissionDenied(f"upstream target refused: {blocked}") from None
                raise Unavailable(f"could not reach the upstream: {type(exc).__name__}") from None
            location = response.headers.get("Location")
            if not (
                settings.proxy_follow_redirects
                and body is None
                and location
                and response.status in {301, 302, 303, 307, 308}
            ):
                return response
            response.release()
            url = url.join(URL(location))
            if url.scheme not in {"http", "https"}:
                raise PermissionDenied("upstream redirected to a non-HTTP URL")
            if (url.scheme, url.host, url.port or 0) != route.origin:
                headers = forward  # credentials stay with their origin
            if response.status == 303:
                method = "GET"
        raise Unavailable("the upstream redirected too many times")


def _target_url(route: Route, rest: str, query: bytes) -> URL:
    target = f"{route.base_url}/{rest}" if rest else route.base_url
    if route.query_param:  # the credential in the query (auth_query_param)
        target += "?" + with_credential(
            query.decode("latin-1"), route.query_param, route.query_pair
        )
    elif query:
        target += "?" + query.decode("latin-1")
    try:
        url = URL(target, encoded=True)
    except ValueError:
        raise InvalidArgument.from_violations(
            [FieldViolation("path", "is not a valid URL path")]
        ) from None
    # Belt and braces: whatever the path held, the target stays under proxy_url.
    if (url.scheme, url.host, url.port or 0) != route.origin or not url.raw_path.startswith(
        route.base_path
    ):
        raise InvalidArgument.from_violations(
            [FieldViolation("path", "leaves the provider's proxy_url")]
        )
    return url


async def _read_hosts(runtime: Runtime) -> dict[str, str | None]:
    async with runtime.read_sessions() as session:
        return dict(await bound_hosts(session))


async def _read_client_env(runtime: Runtime, client_id: str) -> str:
    async with runtime.read_sessions() as session:
        client = await get_client(session, client_id)
    return client.environment_id if client else ""  # "": the client is gone


async def _request_body(receive: Receive, watch: _UploadWatch | None) -> AsyncIterator[bytes]:
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


async def _handed(body: bytes, watch: _UploadWatch) -> AsyncIterator[bytes]:
    """A kept body (one that may be replayed) sent as one watched chunk."""
    watch.handed()
    yield body
    watch.taken()


_SMALL_BODY = 65536


async def _relay(
    response: aiohttp.ClientResponse, send: Send, info: dict[str, Any], metrics: Metrics
) -> None:
    headers = [
        (name.lower(), value)
        for name, value in response.raw_headers
        if name.lower() not in _HOP_BY_HOP
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
