"""The two request headers every surface reads the same way: the Bearer token of
`Authorization` and the host of `Host` (which decides an environment's host binding).

Written once so that `/proxy`, `execute_tool`, the API routes, `/oauth/token`, the MCP
server and the dashboard agree: a host bound as `[::1]` is the host of `Host: [::1]:8080`
everywhere, and `Host: Example.COM.` is `example.com`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

# RFC 3986 §3.2.2 reg-name (which covers IPv4 addresses): unreserved, pct-encoded, sub-delims.
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
_NO_HOST = ("", None)


def bearer_token(value: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1; the scheme is
    case-insensitive, RFC 9110 §11.1), or None for another scheme or no token."""
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return rest.strip() or None


@lru_cache(maxsize=1024)  # a handful of distinct values in practice; parsed once each
def parse_host(value: str) -> tuple[str, int | None]:
    """(host, port) of a `Host` value (RFC 9110 §7.2: `uri-host [ ":" port ]`, RFC 3986
    §3.2.2). The host is lower-case without a trailing dot; an IPv6 address stays in brackets,
    in its RFC 5952 form (`[::1]`), as it is written in a URL and in a host binding. The port
    is None when absent. A value that is not a valid host gives `("", None)`, which no
    environment is bound to."""
    value = value.strip()
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        try:
            ip = ipaddress.IPv6Address(address)
        except ValueError:
            return _NO_HOST
        if not bracket or ip.scope_id is not None:
            return _NO_HOST
        mapped = ip.ipv4_mapped  # RFC 5952 §5 writes these with a dotted quad
        host = f"[::ffff:{mapped}]" if mapped else f"[{ip.compressed}]"
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
        if not _REG_NAME.fullmatch(host):
            return _NO_HOST
        host = host.lower()
        if host.endswith(".") and host != ".":
            host = host[:-1]  # the same DNS name as a fully qualified one
    if not rest:
        return host, None
    if rest[0] != ":":
        return _NO_HOST
    port = rest[1:]
    if not port:
        return host, None  # RFC 3986 §3.2.3: an empty port is as if absent
    if not (port.isascii() and port.isdigit()) or len(port) > 5 or int(port) > 65535:
        return _NO_HOST
    return host, int(port)
