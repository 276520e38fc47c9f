"""Redirect URI rules of the MCP authorization server: registered URIs are https, or http on
a loopback host (native apps, RFC 8252 §7.3); a presented URI matches a registered one
exactly, except that a loopback URI's port may differ."""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def acceptable(uri: str) -> bool:
    """Whether `uri` may be registered as a redirect URI."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return False
    if parts.fragment or not parts.hostname or len(uri) > 2000:
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
