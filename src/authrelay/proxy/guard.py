"""What the proxy refuses before any upstream request: path escapes and forbidden targets.

Targets are checked twice: IP literals here, host names after DNS resolution (the resolver
below), so a name that resolves to a private address is caught, rebinding included.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import unquote

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from authrelay.config import UpstreamAllowlist

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SCHEME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DOUBLE_ENCODED = ("%2e", "%2f", "%5c")
_PLAIN = re.compile(r"^(?:[A-Za-z0-9_~!$&'()*+,;=@-]+(?:/|$))*$")  # no '.', '%', ':' or '\\'


class PathRejected(ValueError):
    """The path after /proxy/ would leave the provider's proxy_url."""


class BlockedAddress(OSError):
    """The upstream host is, or resolves to, an address the proxy may not reach."""


def _check_form(path: str) -> None:
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in path):
        raise PathRejected("the path must not contain whitespace or control characters")
    if "\\" in path:
        raise PathRejected("the path must not contain backslashes")
    if path.startswith("/") or "//" in path:
        raise PathRejected("the path must not contain empty segments ('//')")
    if _SCHEME_LIKE.match(path):
        raise PathRejected("the path must be relative to the provider's proxy_url")
    if any(seg in {".", ".."} for seg in path.split("/")):
        raise PathRejected("the path must not contain '.' or '..' segments")


def check_path(raw_path: str) -> str:
    """Return the path to append to proxy_url, or raise PathRejected.

    The path is checked as sent and once percent-decoded (an upstream may decode it), and
    what remains encoded after one decoding (double encoding) must not hide a dot, slash or
    backslash. Encoded slashes inside a segment (GitLab's `group%2Fproject`) pass.
    """
    if _PLAIN.match(raw_path) and "//" not in raw_path:
        return raw_path  # the common case: nothing that could escape
    _check_form(raw_path)
    decoded = unquote(raw_path)
    _check_form(decoded)
    lowered = decoded.lower()
    for encoded in _DOUBLE_ENCODED:
        if encoded in lowered:
            raise PathRejected("the path must not be double percent-encoded")
    return raw_path


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
