"""URL rules for provider definitions: https (or allow-listed http), placeholders, no tricks."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from authrelay_client.providers.allowlist import UpstreamAllowlist

PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOST_DUMMY = "placeholder"
_PATH_DUMMY = "segment"


_WHOLE_PLACEHOLDER = re.compile(r"^\{\{[^{}]*\}\}$")
# SPEC §3a: a host-label placeholder is filled with exactly one DNS label.
DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class HostNotAllowed(ValueError):
    """A filled host the server may not reach: http:// to a host outside the allow-list."""


def placeholders(url: str) -> list[str]:
    return PLACEHOLDER.findall(url)


def _authority_span(url: str) -> tuple[int, int]:
    """Start and end of the authority (user info, host, port) of `url`; (-1, -1) without
    a "//"."""
    start = url.find("//")
    if start < 0:
        return -1, -1
    start += 2
    end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if 0 <= found < end:
            end = found
    return start, end


def host_placeholders(url: str) -> list[str]:
    """The placeholder names inside the host of `url` (in order, repeats kept)."""
    start, end = _authority_span(url)
    return [m.group(1) for m in PLACEHOLDER.finditer(url) if start <= m.start() < end]


def host_placeholder_problem(url: str) -> str | None:
    """Why the placeholders of `url` are misplaced (SPEC §3a), or None: outside the path a
    placeholder may only be one whole label of the host (`https://{{tenant}}.example.com`),
    never part of a label, the scheme, the user information or the port."""
    start, end = _authority_span(url)
    if start < 0:
        return None  # not an absolute URL: refused for that reason
    for match in PLACEHOLDER.finditer(url):
        if match.start() < start - 2:
            return f"placeholder {{{{{match.group(1)}}}}} cannot be in the scheme"
    authority = url[start:end] if start >= 0 else ""
    if "{{" not in authority:
        return None
    if "@" in authority:
        return "placeholders cannot be in the user information (no user information at all)"
    host = authority
    if ":" in authority and not authority.startswith("["):
        host, port = authority.rsplit(":", 1)
        if "{" in port or "}" in port:
            return "placeholders cannot be in the port"
    for label in host.split("."):
        if ("{" in label or "}" in label) and not _WHOLE_PLACEHOLDER.fullmatch(label):
            return (
                f"a placeholder in the host must be a whole label (as in "
                f"https://{{{{name}}}}.example.com), not part of {label!r}"
            )
    return None


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
    misplaced = host_placeholder_problem(value)
    if misplaced:
        raise ValueError(misplaced)
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
        if host_placeholders(value):
            # The filled host is checked against the allow-list on every use (fill_url).
            if not allowlist.configured():
                raise ValueError(
                    "http:// with a placeholder in the host needs an upstream allow-list "
                    "(AUTHRELAY_UPSTREAM_ALLOWLIST); use https://"
                )
            return value
        real_host = urlsplit(value).hostname or ""
        if not allowlist.allows_host(real_host):
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


def label_value_problem(value: str) -> str | None:
    """Why a value may not fill a host-label placeholder (SPEC §3a), or None when it may."""
    if not value:
        return "is empty"
    if not DNS_LABEL.fullmatch(value):
        return (
            "must be one DNS label: letters, digits and inner hyphens, at most 63 characters "
            "(no dot, port, '@', '/', '#' or whitespace)"
        )
    return None


def fill_placeholders(
    template: str, values: dict[str, str], allowlist: UpstreamAllowlist | None = None
) -> str:
    """`template` with each {{name}} replaced by its value; ValueError when a value fails
    the checks of `placeholder_value_problem` (or is missing), or, in the host, of
    `label_value_problem` (``domain`` keeps its host-name rule). A filled host must be a
    valid host name; over http:// it must be in `allowlist` (else HostNotAllowed)."""
    if "{{" not in template:
        return template  # most providers: nothing to fill
    start, end = _authority_span(template)
    in_host = False

    def repl(match: re.Match[str]) -> str:
        nonlocal in_host
        name = match.group(1)
        value = values.get(name, "")
        here = start <= match.start() < end
        in_host = in_host or here
        if here and name != "domain":
            problem = label_value_problem(value)
        else:
            problem = placeholder_value_problem(name, value)
        if problem:
            raise ValueError(f"the connected account's value for {{{{{name}}}}} {problem}")
        return value

    filled = PLACEHOLDER.sub(repl, template)
    if in_host:
        check_filled_host(filled, allowlist)
    return filled


def check_filled_host(url: str, allowlist: UpstreamAllowlist | None) -> None:
    """A URL whose host was filled from placeholders: a valid host name, and over http://
    one the allow-list names (SPEC §3a, checked on every use)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _valid_host(host.lower()):
        raise ValueError(f"the filled host {host!r} is not a valid host name")
    if parts.scheme == "http" and (allowlist is None or not allowlist.allows_host(host)):
        raise HostNotAllowed(
            f"the filled host {host!r} is not in the upstream allow-list, which http:// "
            "needs (AUTHRELAY_UPSTREAM_ALLOWLIST)"
        )
