"""One upstream call with the account's credentials: the one path `/proxy` (proxy/app.py)
and tools (proxy/call.py) send through, in layers of one concern each (as httpx's client
sends: `send` → `_send_handling_auth` → `_send_single_request`):

- `send_upstream`: an OAuth token renewed before it expires (proxy/resolve.py,
  `renewed_route`), one attempt, then the rare steps when they apply, each its own function
  off the common path: `_renewed_and_sent_again` when the upstream answers 401 to a call
  that can be sent again (once), `_retried` under the provider's retry policy; the account
  is marked as used;
- `send_once`: the request built with the route's credentials and sent, redirects followed
  when the setting allows, the HTTP client's failures turned into the proxy's errors.

The caller relays or reads the answer, then releases it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
from yarl import URL

from authrelay.errors import (
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    Unavailable,
)
from authrelay.netguard import BlockedAddress, blocked_cause, check_host
from authrelay.proxy.placement import with_credential
from authrelay.proxy.resolve import RouteKey, renewed_route
from authrelay.proxy.retry import IDEMPOTENT, with_retries
from authrelay.proxy.routes import Route
from authrelay_client.providers.model import RetryPolicy

if TYPE_CHECKING:
    from authrelay.proxy.parts import ProxyParts

_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Body = AsyncIterator[bytes] | bytes | None


class UploadWatch:
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


class Call(NamedTuple):
    """One upstream call as its caller asked for it, before the route's credentials."""

    key: RouteKey  # the route it goes through
    method: str
    rest: str  # the path under the provider's proxy_url, without a leading slash
    query: bytes  # the caller's query string (the route may add its credential)
    headers: list[tuple[str, str]]  # the caller's, without any the route adds
    body: Body
    replayable: bool  # no body, or one kept whole: the call may be sent again
    watch: UploadWatch | None = None  # for a body that is sent as it arrives


async def send_upstream(
    runtime: ProxyParts, call: Call, route: Route, info: dict[str, Any]
) -> aiohttp.ClientResponse:
    """The upstream's answer to `call` through `route`: an OAuth token about to expire is
    renewed first; a 401 and the provider's retry policy are handled by the steps below,
    which only the rare calls reach. `info`, the caller's log line, gets the retries."""
    if route.oauth and not route.usable(runtime.settings.refresh_margin_seconds):
        route = await renewed_route(runtime, route, call.key)
    response = await send_once(runtime, call, route, target_url(route, call.rest, call.query))
    if response.status == 401 and route.oauth and call.replayable:
        response, route = await _renewed_and_sent_again(runtime, call, route, response)
    policy = route.retry
    if (
        policy is not None
        and call.replayable
        and call.method in IDEMPOTENT
        and response.status in policy.on_status
    ):
        response = await _retried(runtime, call, route, response, policy, info)
    runtime.last_used.mark(route.account_id)
    return response


async def _renewed_and_sent_again(
    runtime: ProxyParts, call: Call, route: Route, rejected: aiohttp.ClientResponse
) -> tuple[aiohttp.ClientResponse, Route]:
    """After the upstream rejected `route`'s token (401): the answer to `call` sent once
    more with the token renewed, and the route that carries it."""
    rejected.release()
    route = await renewed_route(runtime, route, call.key, rejected=True)
    url = target_url(route, call.rest, call.query)  # the credential may be in the query
    return await send_once(runtime, call, route, url), route


async def _retried(
    runtime: ProxyParts,
    call: Call,
    route: Route,
    response: aiohttp.ClientResponse,
    policy: RetryPolicy,
    info: dict[str, Any],
) -> aiohttp.ClientResponse:
    """The answer after the provider's retry policy, `response` being the first."""

    def again() -> Awaitable[aiohttp.ClientResponse]:
        return send_once(runtime, call, route, target_url(route, call.rest, call.query))

    response = await with_retries(response, policy, again, info)
    runtime.metrics.count_retries(info.get("retries", 0))
    return response


async def send_once(
    runtime: ProxyParts, call: Call, route: Route, url: URL
) -> aiohttp.ClientResponse:
    """The upstream's response to `call` sent to `url` with the route's credential headers,
    following redirects only when the setting allows it (never with the credential to
    another origin). A streamed body is sent under `call.watch` (see UploadWatch)."""
    settings = runtime.settings
    method, body, watch = call.method, call.body, call.watch
    forward = call.headers
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
            and response.status in _REDIRECTS
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


def target_url(route: Route, rest: str, query: bytes) -> URL:
    """The upstream URL of `rest?query` under the route's proxy_url, with the credential in
    the query when the provider puts it there; InvalidArgument when it would leave it."""
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


async def _handed(body: bytes, watch: UploadWatch) -> AsyncIterator[bytes]:
    """A kept body (one that may be replayed) sent as one watched chunk."""
    watch.handed()
    yield body
    watch.taken()
