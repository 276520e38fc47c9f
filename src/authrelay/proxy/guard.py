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

from authrelay_client.providers.allowlist import UpstreamAllowlist

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SCHEME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DOUBLE_ENCODED = ("%2e", "%2f", "%5c")
_PLAIN = re.compile(r"^(?:[A-Za-z0-9_~!$&'()*+,;=@-]+(?:/|$))*$")  # no '.', '%', ':' or '\\'
# A segment that is '.' or '..' before its first ';' (see _dot_segment).
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:[;/]|$)")
# Spellings some servers decode to '.' or '/' and no valid UTF-8 path holds: overlong UTF-8
# (lead bytes C0/C1, E0 80-9F, F0 80-8F) and IIS's %uXXXX.
_ODD_ESCAPE = re.compile(r"%(?:c[01]|e0%[89]|f0%8|u[0-9a-f]{4})", re.IGNORECASE)


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
    if _dot_segment(path):
        raise PathRejected("the path must not contain '.' or '..' segments")
    if "%" in path and _ODD_ESCAPE.search(path):
        raise PathRejected("the path must not hold overlong UTF-8 or %u escapes")


def _dot_segment(path: str) -> bool:
    """A segment that is '.' or '..' before its first ';': Tomcat, Jetty and Spring drop
    path parameters (`..;x=1`) and then read the segment as a dot segment."""
    return _DOT_SEGMENT.search(path) is not None


def check_path(raw_path: str) -> str:
    """Return the path to append to proxy_url, or raise PathRejected.

    The path is checked as sent and once percent-decoded (an upstream may decode it), and
    what remains encoded after one decoding (double encoding) must not hide a dot, slash or
    backslash; decoded again and again until nothing changes, it must still hold no dot
    segment (`..%253b`) or backslash. A segment's `;` parameters do not hide a dot segment
    (`..;x`), and pass on any other segment (`items;v=1`). Encoded slashes inside a segment
    (GitLab's `group%2Fproject`) pass.
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
    deeper = unquote(decoded)
    while deeper != decoded:  # each round shortens the text, so this ends
        if _dot_segment(deeper) or "\\" in deeper:
            raise PathRejected("the path must not hide '.', '..' or '\\' under repeated encoding")
        decoded, deeper = deeper, unquote(deeper)
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
