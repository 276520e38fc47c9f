"""One upstream call for callers other than `/proxy` (tools): through the same path as a
proxied call (proxy/send.py: the cached route with its credentials, OAuth renewal before
expiry and after a 401, retry policy, path and SSRF guards, timeouts, the pooled client);
the answer is read whole, up to a cap."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from authrelay.errors import AuthrelayError, DeadlineExceeded, Unavailable
from authrelay.proxy.placement import with_defaults
from authrelay.proxy.resolve import cached_route
from authrelay.proxy.send import Call, send_upstream

if TYPE_CHECKING:
    from authrelay.proxy.parts import ProxyParts

__all__ = ["Answer", "call_upstream"]


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    truncated: bool  # the upstream sent more than the cap; `body` holds the first bytes
    # The credentials the call carried (Route.secrets): an error body that echoes them is
    # redacted before it is passed on.
    secrets: tuple[str, ...] = field(default=(), repr=False)


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
    runtime: ProxyParts,
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
    key = (env_id, connection, identifier)
    route = await cached_route(runtime, key)
    added = route.sent_keys  # the credential header, proxy_headers
    forward = [(n, v) for n, v in headers if n.lower().encode("latin-1") not in added]
    if route.defaults:
        forward = with_defaults(forward, route.defaults)
    call = Call(key, method, path.lstrip("/"), query.encode("latin-1"), forward, body, True)
    info: dict[str, Any] = {}  # the tool call writes its own log line
    response = await send_upstream(runtime, call, route, info)
    try:
        data, truncated = await _read(response, max_bytes, runtime.settings.proxy_read_timeout)
    finally:
        response.release()
    content_type = response.headers.get("Content-Type", "")
    secrets = route.secrets
    if route.oauth and response.status >= 400:  # the token may have been renewed meanwhile
        with contextlib.suppress(AuthrelayError):
            secrets += (await cached_route(runtime, key)).secrets
    answer = Answer(response.status, content_type, data, truncated, secrets)
    return answer, route.account_id
