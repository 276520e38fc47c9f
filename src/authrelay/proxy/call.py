"""One upstream call through the proxy core, for callers other than `/proxy` (tools): the
same cached route (injection), OAuth refresh before and after a 401, path and SSRF guards,
timeouts and pooled client as a proxied call; the answer is read whole, up to a cap."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from authrelay.errors import DeadlineExceeded, Unavailable
from authrelay.proxy.app import ProxyApp, _target_url
from authrelay.proxy.placement import with_defaults
from authrelay.proxy.retry import IDEMPOTENT, with_retries

if TYPE_CHECKING:
    from authrelay.runtime import Runtime

_CORE = ProxyApp()  # its route and upstream steps use only the runtime they are given


async def cached_environment(runtime: Runtime, token: str, host: str) -> str:
    """The API token's environment, checked as `/proxy` checks it: the signature, then the
    API client and the host binding from the per-process cache (no database round trip)."""
    return await _CORE._principal_env(runtime, token, host)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    truncated: bool  # the upstream sent more than the cap; `body` holds the first bytes


async def _read(
    response: aiohttp.ClientResponse, cap: int, read_timeout: float
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_any():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                return b"".join(chunks)[:cap], True
    except TimeoutError:
        raise DeadlineExceeded(f"the upstream did not answer within {read_timeout:g}s") from None
    except aiohttp.ClientError as exc:
        raise Unavailable(f"the upstream's answer broke off: {type(exc).__name__}") from None
    return b"".join(chunks), False


async def call_upstream(
    runtime: Runtime,
    env_id: str,
    connection: str,
    identifier: str,
    *,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    max_bytes: int,
) -> tuple[Answer, str]:
    """(the answer, the account id) of `method path?query` under the provider's proxy_url,
    sent with the account's credentials. `path` is the caller's to make safe (tools fill a
    checked template with percent-encoded values); the target must stay under proxy_url.
    Raises the proxy's errors (no such connection or account, account not active, target
    refused, unreachable, timeout)."""
    rest = path.lstrip("/")
    key = (env_id, connection, identifier)
    route = await _CORE._route(runtime, env_id, connection, identifier)
    refresher = runtime.refresher
    if route.oauth and not route.usable(runtime.settings.refresh_margin_seconds):
        route = await refresher.fresh_route(route, key)
    url = _target_url(route, rest, query.encode("latin-1"))
    added = route.sent_keys  # the credential header, proxy_headers
    forward = [(n, v) for n, v in headers if n.lower().encode("latin-1") not in added]
    if route.defaults:
        forward = with_defaults(forward, route.defaults)
    response = await _CORE._upstream(runtime, method, url, forward, body, route)
    if response.status == 401 and route.oauth:
        response.release()
        route = await refresher.fresh_route(route, key, rejected=True)
        response = await _CORE._upstream(runtime, method, url, forward, body, route)
    policy = route.retry
    if policy is not None and method in IDEMPOTENT and response.status in policy.on_status:
        last = route

        def again() -> Awaitable[aiohttp.ClientResponse]:
            return _CORE._upstream(runtime, method, url, forward, body, last)

        info: dict[str, Any] = {}
        response = await with_retries(response, policy, again, info)
        runtime.metrics.count_retries(info.get("retries", 0))
    runtime.last_used.mark(route.account_id)
    try:
        data, truncated = await _read(response, max_bytes, runtime.settings.proxy_read_timeout)
    finally:
        response.release()
    content_type = response.headers.get("Content-Type", "")
    return Answer(response.status, content_type, data, truncated), route.account_id
