"""The network guard: which upstream addresses any outbound call from the server may reach
(public addresses, plus the operator's `AUTHRELAY_UPSTREAM_ALLOWLIST`). Used by the proxy
and by OAuth; neutral, so that neither owns it.

Targets are checked twice: IP literals before connecting (`check_host`), host names after
DNS resolution (`GuardedResolver`, the resolver of the shared aiohttp connector), so a name
that resolves to a private address is caught, rebinding included.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from authrelay_client.providers.allowlist import UpstreamAllowlist

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
