"""Redirect URI rules of the MCP authorization server: registered URIs are https, http on a
loopback host (native apps, RFC 8252 §7.3), or a native app's private-use scheme (RFC 8252
§7.1: Cursor registers `cursor://anysphere.cursor-mcp/oauth/callback`; PKCE, required for
every client, protects the code if another app claims the scheme); a presented URI matches a
registered one exactly, except that a loopback URI's port may differ."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{1,63}$")
# schemes a browser acts on by itself, or that are web schemes under another name
_NOT_PRIVATE = frozenset(
    {"http", "https", "javascript", "data", "file", "vbscript", "about", "blob", "filesystem",
     "ftp", "ws", "wss", "mailto", "tel", "sms", "view-source", "chrome", "intent"}
)  # fmt: skip


def acceptable(uri: str) -> bool:
    """Whether `uri` may be registered as a redirect URI."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return False
    if parts.fragment or len(uri) > 2000:
        return False
    if _SCHEME.match(parts.scheme) and parts.scheme not in _NOT_PRIVATE:
        return bool(parts.path.strip("/") or parts.hostname)  # a private-use scheme
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def matches(presented: str, registered: list[str]) -> bool:
    """Whether `presented` is one of `registered`, exactly or up to a loopback port."""
    if presented in registered:
        return True
    try:
        got = urlsplit(presented)
        got_port = got.port
    except ValueError:
        return False
    if got.scheme != "http" or got.hostname not in LOOPBACK_HOSTS or got_port is None:
        return False
    for uri in registered:
        want = urlsplit(uri)
        if (want.scheme, want.hostname, want.path, want.query) == (
            got.scheme,
            got.hostname,
            got.path,
            got.query,
        ):
            return True
    return False
