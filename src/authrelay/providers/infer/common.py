"""Small helpers shared by the OpenAPI and docs readers: names, URLs, prefixes, scopes."""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from authrelay.providers.infer.result import BaseUrl, Scope
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.model import FORBIDDEN_AUTH_HEADERS
from authrelay_client.wire import InputFieldBody, ScopeBody

_NOT_NAME = re.compile(r"[^A-Za-z0-9 -]+")
_SNAKE_BAD = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HTTP_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_SCOPE = re.compile(r"^[\x21-\x7e]{1,200}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")
_VERSION_VALUE = re.compile(r"^v?\d+(\.\d+){0,2}[a-z0-9]*$", re.I)
_RESERVED_FIELDS = {"api_key", "token", "username", "password", "access_token", "domain"}
_FORBIDDEN_HEADERS = FORBIDDEN_AUTH_HEADERS  # the validator's own list


def one_line(value: Any, limit: int) -> str:
    """A string value as a single trimmed line of at most `limit` characters."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.replace("\x00", " ").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def display_name(raw: str | None) -> str | None:
    """Letters, digits, spaces and hyphens only (SPEC §3), or None when nothing is left."""
    if not raw:
        return None
    text = " ".join(_NOT_NAME.sub(" ", raw[:1000]).split())[:200].strip(" -")
    return text if any(ch.isalnum() for ch in text) else None


_TITLE_SEPARATOR = re.compile(r"\s[-:|]\s|[—–|·]")
_TITLE_NOISE = {
    "api",
    "apis",
    "rest",
    "docs",
    "doc",
    "documentation",
    "reference",
    "guide",
    "developer",
    "developers",
    "oauth",
    "overview",
    "manual",
    "v1",
    "v2",
    "v3",
}


def title_name(raw: str | None) -> str | None:
    """A display name from a document title: the first part, without 'API docs' words."""
    if not raw:
        return None
    first = next((p for p in _TITLE_SEPARATOR.split(raw[:1000]) if display_name(p)), raw)
    words = (display_name(first) or "").split()
    while len(words) > 1 and words[-1].lower() in _TITLE_NOISE:
        words.pop()
    return display_name(" ".join(words))


def field_name(raw: str, taken: set[str]) -> str:
    """A snake_case field name for a server variable, unique among `taken`."""
    text = _CAMEL.sub("_", raw[:60]).lower()
    text = _SNAKE_BAD.sub("_", text).strip("_")
    if not text or not text[0].isalpha():
        text = "param_" + text if text else "param"
    text = text[:50].strip("_")
    name = text
    if name in _RESERVED_FIELDS or name in taken:
        name = f"{text}_param"
    n = 2
    while name in taken:
        name = f"{text}_{n}"
        n += 1
    taken.add(name)
    return name


def header_problem(name: str) -> str | None:
    if not _HTTP_TOKEN.match(name):
        return f"{name[:60]!r} is not a valid HTTP header name"
    if name.lower() in _FORBIDDEN_HEADERS:
        return f"the {name} header cannot carry credentials through the proxy"
    return None


def is_version(name: str, default: str) -> bool:
    lowered = name.lower()
    return "version" in lowered or lowered in {"ver", "v"} or bool(_VERSION_VALUE.match(default))


def clean_scopes(items: list[Scope], missing: list[str]) -> list[ScopeBody]:
    out: list[ScopeBody] = []
    seen: dict[str, ScopeBody] = {}
    skipped: list[str] = []
    for item in items:
        if not _SCOPE.match(item.scope):
            skipped.append(item.scope[:40])
            continue
        if item.scope in seen:
            earlier = seen[item.scope]
            if not earlier["description"] and one_line(item.description, 1000):
                earlier["description"] = one_line(item.description, 1000)
                earlier["display_name"] = one_line(item.description, 200)
            earlier["required"] = earlier["required"] or item.required
            continue
        if len(out) >= 500:
            skipped.append(item.scope[:40])
            continue
        description = one_line(item.description, 1000)
        seen[item.scope] = {
            "scope": item.scope,
            "display_name": one_line(item.description, 200) or item.scope,
            "description": description,
            "required": item.required,
        }
        out.append(seen[item.scope])
    if skipped:
        missing.append(
            f"{len(skipped)} scope(s) could not be used (invalid names or over 500): "
            + ", ".join(repr(s) for s in skipped[:5])
        )
    return out


# "Authorization: Token <key>", "X-Api-Key: Key {{key}}", "Authorization: Bearer $TOKEN"
_PLACEHOLDER_VALUE = (
    r"(?:<[^<>\n]{1,60}>|\{\{?[^{}\n]{1,60}\}\}?|\$\{?[A-Za-z_]\w{0,60}\}?"
    r"|\[[^\[\]\n]{1,60}\]|YOUR[\w-]{0,60}|your[\w-]{0,60}"
    r"|[A-Za-z0-9_.=+/-]{16,200}|\.\.\.|…|xxx\w*)"
)


def find_prefix(header: str, texts: list[str]) -> tuple[str, str] | None:
    """The text shown before the key in `header: PREFIX <key>` examples, and the passage."""
    pattern = re.compile(
        re.escape(header) + r"\s*:\s*[\"'`]?([A-Za-z][A-Za-z0-9_-]{0,40})[ ]" + _PLACEHOLDER_VALUE,
        re.I,
    )
    for text in texts:
        match = pattern.search(text)
        if match:
            word = match.group(1)
            if word.lower() in {"your", "the", "a", "an", "my", "api", "insert"}:
                continue
            start = max(0, match.start())
            return word + " ", one_line(text[start : match.end()], 160)
    return None


# The upstream allow-list the inference runs under (set by `infer`): hosts on it keep the
# http:// scheme they were given, as the server would accept them.
ALLOWLIST: ContextVar[UpstreamAllowlist | None] = ContextVar("infer_allowlist", default=None)
_NONE_ALLOWED = UpstreamAllowlist([])


def current_allowlist() -> UpstreamAllowlist:
    return ALLOWLIST.get() or _NONE_ALLOWED


def allowed_http(host: str) -> bool:
    """True when plain http:// to `host` (a host or host:port) is allowed as given."""
    name = host.rsplit("@", 1)[-1]
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    else:
        name = name.split(":", 1)[0]
    return bool(name) and current_allowlist().allows_host(name)


def https(url: str, assumptions: list[str], where: str) -> str:
    if url.lower().startswith("http://") and allowed_http(urlsplit(url).netloc):
        return url
    if url.lower().startswith("http://"):
        assumptions.append(f"{where} uses http://; assumed the API is also served over https://")
        return "https://" + url[7:]
    return url


def safe_path(path: str) -> str:
    """The leading run of plain path segments of `path`, as "/a/b" (or "")."""
    kept: list[str] = []
    for segment in path.split("/"):
        if not segment:
            continue
        if not _SEGMENT.match(segment) or segment in {".", ".."}:
            break
        kept.append(segment)
    return "".join("/" + s for s in kept)


def common_prefix(paths: list[str]) -> str:
    """The plain segments every path starts with, strictly shorter than each path."""
    split = [[s for s in p.split("/") if s] for p in paths if isinstance(p, str)]
    split = [s for s in split if s]
    if len(split) < 2:
        return ""
    prefix: list[str] = []
    shortest = min(len(s) for s in split)
    for i in range(shortest - 1):
        segment = split[0][i]
        if "{" in segment or not _SEGMENT.match(segment) or segment in {".", ".."}:
            break
        if all(s[i] == segment for s in split):
            prefix.append(segment)
        else:
            break
    return "".join("/" + s for s in prefix)


def join_path(base: str, path: str) -> str:
    if not path:
        return base
    return base.rstrip("/") + "/" + path.lstrip("/")


def static_host(url: str) -> str | None:
    """scheme://host[:port] of a plain absolute URL, or None."""
    try:
        parts = urlsplit(url)
        host = parts.netloc
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not _HOST.match(host) or "." not in host:
        return None
    return f"{parts.scheme}://{host}"


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def domain_field(hint: str) -> InputFieldBody:
    return {
        "field_name": "domain",
        "label": "Domain",
        "input_type": "text",
        "hint": one_line(hint, 500),
        "required": True,
    }


def relative_base(path: str, why: str) -> BaseUrl:
    """A base URL whose host is unknown: the host becomes a {{domain}} field."""
    return BaseUrl(
        url=join_path("https://{{domain}}", safe_path(path)),
        fields=[domain_field("The API host name, e.g. api.example.com")],
        reason=why,
        host_known=False,
    )


def title_from_host(url: str) -> str | None:
    host = host_of(url)
    labels = [x for x in host.split(".") if x and x not in {"api", "www", "com", "io", "net"}]
    return display_name(labels[0].capitalize()) if labels else None
