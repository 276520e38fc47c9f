"""What the proxy refuses before any upstream request: paths that would leave the
provider's proxy_url. Forbidden targets (addresses) are the network guard's
(`authrelay.netguard`), shared with OAuth."""

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


class PathRejected(ValueError):
    """The path after /proxy/ would leave the provider's proxy_url."""


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
