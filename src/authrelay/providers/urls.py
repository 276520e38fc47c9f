"""URL rules for provider definitions: https (or allow-listed http), placeholders, no tricks."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from authrelay.config import UpstreamAllowlist

PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOST_DUMMY = "placeholder"
_PATH_DUMMY = "segment"


def placeholders(url: str) -> list[str]:
    return PLACEHOLDER.findall(url)


def _substitute(url: str) -> str:
    """Replace placeholders with harmless values so the rest of the URL can be parsed."""
    authority_end = url.find("/", url.find("//") + 2) if "//" in url else -1

    def repl(match: re.Match[str]) -> str:
        in_host = authority_end == -1 or match.start() < authority_end
        return _HOST_DUMMY if in_host else _PATH_DUMMY

    return PLACEHOLDER.sub(repl, url)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    # The last label is a top-level domain, which always starts with a letter: this refuses
    # numeric spellings of addresses ("2130706433", "0x7f000001") that resolvers accept.
    return (
        all(_HOST_LABEL.fullmatch(label) for label in labels)
        and labels[-1][:1].isalpha()
        and not labels[-1].lower().startswith("0x")
    )


def check_https_url(value: str) -> str:
    """An absolute https URL with a valid host (icons and other links)."""
    if any(ch.isspace() for ch in value) or any(ord(ch) < 32 for ch in value):
        raise ValueError("must not contain whitespace or control characters")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https URL")
    return value


def check_upstream_url(value: str, allowlist: UpstreamAllowlist, *, allow_query: bool) -> str:
    """An upstream URL: https, or http for allow-listed hosts; placeholders well formed."""
    if any(ch.isspace() for ch in value) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain whitespace or control characters")
    if "\\" in value:
        raise ValueError("must not contain backslashes")
    for name in placeholders(value):
        if not _PLACEHOLDER_NAME.fullmatch(name):
            raise ValueError(f"placeholder {{{{{name}}}}} is not a valid field name")
    probe = _substitute(value)
    if "{" in probe or "}" in probe:
        raise ValueError("has an unbalanced placeholder: write placeholders as {{name}}")
    try:
        parts = urlsplit(probe)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from exc
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not contain user information")
    if parts.fragment or probe.endswith("#"):
        raise ValueError("must not contain a fragment")
    if parts.query and not allow_query:
        raise ValueError("must not contain a query string")
    if port == 0:
        raise ValueError("has an invalid port")
    host = parts.hostname
    if not _valid_host(host):
        raise ValueError(f"has an invalid host name {host!r}")
    segments = parts.path.split("/")
    if any(seg in {".", ".."} for seg in segments) or "%2e" in parts.path.lower():
        raise ValueError("must not contain dot segments")
    if parts.scheme == "http":
        real_host = urlsplit(value).hostname or ""
        if PLACEHOLDER.search(urlsplit(value).netloc) or not allowlist.allows_host(real_host):
            raise ValueError(
                "must be an https URL (http:// is allowed only for hosts in the upstream "
                "allow-list, AUTHRELAY_UPSTREAM_ALLOWLIST)"
            )
    return value


_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")


def placeholder_value_problem(name: str, value: str) -> str | None:
    """Why a value may not fill {{name}} at proxy time (SPEC §3), or None when it may.

    ``domain`` must be a host-name label sequence (no port, user info, scheme or path);
    every other placeholder a single path segment of unreserved characters.
    """
    if not value:
        return "is empty"
    if any(ch.isspace() for ch in value):
        return "must not contain whitespace"
    if ".." in value or value == ".":
        return "must not contain '..'"
    if name == "domain":
        if any(ch in value for ch in ":[]") or len(value) > 253 or not _valid_host(value.lower()):
            return "must be a host name (letters, digits, hyphens and dots; no port, path or '@')"
        return None
    if not _SEGMENT.fullmatch(value):
        return "must be a single path segment (letters, digits, '.', '_', '~', '-')"
    return None


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """`template` with each {{name}} replaced by its value; ValueError when a value fails
    the checks of `placeholder_value_problem` (or is missing)."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name, "")
        problem = placeholder_value_problem(name, value)
        if problem:
            raise ValueError(f"the connected account's value for {{{{{name}}}}} {problem}")
        return value

    return PLACEHOLDER.sub(repl, template)
