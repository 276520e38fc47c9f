"""The network guard: which upstream addresses any outbound call from the server may reach
(public addresses, plus the operator's `AUTHRELAY_UPSTREAM_ALLOWLIST`). Used by the proxy,
tools and OAuth; neutral, so that none of them owns it. One policy (`ip_allowed`), applied
to IP literals and to resolved addresses alike:

- IP literals before connecting (`check_host`): aiohttp never asks the resolver about a
  literal, so this is the only check they get. The OAuth client (`runtime.http`: token,
  refresh, code exchange, user info, TOKEN_EXCHANGE) runs it on every request and every
  redirect hop through its session middleware (`guard_middleware`); the proxy and tools,
  whose client has no middleware to keep the hot path short, check the route's host when
  the route is loaded (`proxy/routes.py`) and each redirect hop (`proxy/send.py`);
- host names after DNS resolution (`GuardedResolver`, the resolver of the one aiohttp
  connector both clients share), so a name that resolves to a private address is caught,
  rebinding included.

`tests/test_outbound_calls.py` lists every outbound call site of `src/` and how each is
guarded; a new one fails it until it is reviewed. `unreachable` is the one message for a
refused target and for one that cannot be reached, so an answer never tells an open port
from a closed one.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from authrelay_client.providers.allowlist import UpstreamAllowlist

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger("authrelay.netguard")


class BlockedAddress(OSError):
    """The upstream host is, or resolves to, an address the server may not reach."""


def ip_allowed(ip: IPAddress, allowlist: UpstreamAllowlist) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allowlist.allows_ip(ip):
        return True
    return ip.is_global and not ip.is_multicast


def literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_host(host: str, allowlist: UpstreamAllowlist) -> None:
    """Refuse IP-literal hosts that are not public or allow-listed (names: see resolver)."""
    ip = literal_ip(host)
    if ip is not None and not ip_allowed(ip, allowlist):
        raise BlockedAddress(f"{host} is not a public address and not in the upstream allow-list")


def guard_middleware(allowlist: UpstreamAllowlist) -> ClientMiddlewareType:
    """A session middleware that runs `check_host` on every request the session sends,
    redirect hops included (aiohttp calls it once per hop), before any connection."""

    async def guard(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        check_host(request.url.host or "", allowlist)
        return await handler(request)

    return guard


class GuardedResolver(AbstractResolver):
    """Resolves with the system resolver, then refuses non-public, non-allow-listed results."""

    def __init__(self, allowlist: UpstreamAllowlist) -> None:
        self.allowlist = allowlist
        self.inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.allowlist.allows_host(host):
            return results
        for result in results:
            ip = ipaddress.ip_address(result["host"])
            if not ip_allowed(ip, self.allowlist):
                raise BlockedAddress(
                    f"{host} resolves to {ip}, which is not public and not in the upstream "
                    "allow-list"
                )
        return results

    async def close(self) -> None:
        await self.inner.close()


def blocked_cause(exc: BaseException) -> BlockedAddress | None:
    """Find a BlockedAddress inside aiohttp's connection errors."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockedAddress):
            return current
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BlockedAddress):
            return os_error
        current = current.__cause__ or current.__context__
    return None


def unreachable(what: str, exc: BaseException) -> str:
    """The one message for `what` (an endpoint) refused by the guard or not reached at all
    (refused connection, reset, TLS failure, timeout): the caller cannot tell an open port
    from a closed one, nor a listening service from a blocked address. The cause is logged
    for the operator."""
    blocked = blocked_cause(exc)
    log.info(
        "outbound request failed",
        extra={"target": what, "cause": str(blocked) if blocked else type(exc).__name__},
    )
    return f"{what} is refused by the upstream allow-list or could not be reached"
