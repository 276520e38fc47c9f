"""What the proxy refuses before any upstream request: paths that would leave the
provider's proxy_url, and headers a caller may not set. Tools use the same rules
(`tools.execute`), so a tool binding cannot reach what `/proxy` refuses. Forbidden targets
(addresses) are the network guard's (`authrelay.netguard`), shared with OAuth."""

from __future__ import annotations

import re
from urllib.parse import unquote

_SCHEME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DOUBLE_ENCODED = ("%2e", "%2f", "%5c")
_PLAIN = re.compile(r"^(?:[A-Za-z0-9_~!$&'()*+,;=@-]+(?:/|$))*$")  # no '.', '%', ':' or '\\'
# A segment that is '.' or '..' before its first ';' (see _dot_segment).
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:[;/]|$)")
# Spellings some servers decode to '.' or '/' and no valid UTF-8 path holds: overlong UTF-8
# (lead bytes C0/C1, E0 80-9F, F0 80-8F) and IIS's %uXXXX.
_ODD_ESCAPE = re.compile(r"%(?:c[01]|e0%[89]|f0%8|u[0-9a-f]{4})", re.IGNORECASE)

# Headers of one connection, not of the message (RFC 9110 §7.6.1): never passed on, in
# either direction.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Headers no caller sets on an upstream request (lower-case): the hop-by-hop ones and those
# the HTTP client derives from the request it sends (the target's Host, the body's length).
# `Expect`: the caller's 100-continue is answered by the server in front of the proxy (when
# the proxy first reads the body); forwarded, it would make the HTTP client wait for a 100
# the upstream may never send (docs/api.md).
CLIENT_OWNED = HOP_BY_HOP | {b"host", b"content-length", b"expect"}


def client_owned(name: str) -> bool:
    """Whether header `name` is one a caller may not set (see CLIENT_OWNED)."""
    return name.lower().encode("latin-1", "replace") in CLIENT_OWNED


class PathRejected(ValueError):
    """The path after /proxy/ would leave the provider's proxy_url."""


def _check_form(path: str, spaces: bool = False) -> None:
    if any((ord(ch) < 33 and not (spaces and ch == " ")) or ord(ch) == 127 for ch in path):
        what = "control characters" if spaces else "whitespace or control characters"
        raise PathRejected(f"the path must not contain {what}")
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
    _check_escapes(raw_path, spaces=False)
    return raw_path


def check_filled_path(path: str) -> str:
    """check_path for a path authrelay filled itself from a tool's inputs, each value
    percent-encoded as one segment: the same rules, except that a value may hold spaces (sent
    as `%20`; names and titles have them). Returns `path` or raises PathRejected."""
    if _PLAIN.match(path) and "//" not in path:
        return path
    _check_escapes(path, spaces=True)
    return path


def _check_escapes(raw_path: str, spaces: bool) -> None:
    """check_path's rules past its common case; `spaces`: a decoded space is allowed."""
    _check_form(raw_path)
    decoded = unquote(raw_path)
    _check_form(decoded, spaces)
    lowered = decoded.lower()
    for encoded in _DOUBLE_ENCODED:
        if encoded in lowered:
            raise PathRejected("the path must not be double percent-encoded")
    deeper = unquote(decoded)
    while deeper != decoded:  # each round shortens the text, so this ends
        if _dot_segment(deeper) or "\\" in deeper:
            raise PathRejected("the path must not hide '.', '..' or '\\' under repeated encoding")
        decoded, deeper = deeper, unquote(deeper)
