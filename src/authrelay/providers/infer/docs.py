"""Reading API documentation text (HTML or Markdown): curl examples, phrases, OAuth endpoints.

Recognised, in this order of strength (a curl example beats a phrase of the same type):

* curl examples: ``-H "Authorization: Bearer …"`` → BEARER, ``-H "Authorization: Basic …"``
  and ``-u user:password`` → BASIC, ``-u KEY:`` → BASIC with the key as user name and an empty
  password, ``-H "Authorization: Token …"`` → API_KEY with the prefix ``"Token "``, any other
  credential-looking header (``X-API-Key: …``) → API_KEY with that header; their URLs give the
  base URL;
* phrases: ``Authorization: Bearer``, ``Basic auth``/``HTTP Basic``, ``X-…-Key`` header names,
  ``api key``;
* OAuth: ``…/authorize`` and ``…/token`` URLs (or ``/oauth/authorize`` and ``/oauth/token``
  paths next to the base URL) and scope lists (backticked names in list items or table rows
  after a mention of scopes, or ``scope=`` in an authorize URL).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from authrelay.providers.infer.common import (
    allowed_http,
    common_prefix,
    current_allowlist,
    domain_field,
    find_prefix,
    header_problem,
    https,
    join_path,
    one_line,
    safe_path,
)
from authrelay.providers.infer.parse import html_to_text, looks_like_html, markdown_title
from authrelay.providers.infer.result import BaseUrl, Scheme, Scope
from authrelay_client.providers.urls import check_upstream_url
from authrelay_client.wire import InputFieldBody

_CURL = re.compile(r"\bcurl\b")
_URL = re.compile(r"https?://[^\s\"'`()\[\]|,]{1,500}", re.I)
_BEARER = re.compile(r"Authorization\s*:\s*Bearer\b", re.I)
_BASIC = re.compile(r"\b(?:basic[ -]auth(?:entication)?|HTTP basic)\b", re.I)
_AUTH_PREFIX = re.compile(r"Authorization\s*:\s*[\"'`]?(Token|ApiKey|Api-Key|Key)\s", re.I)
_X_HEADER = re.compile(
    r"\b(X-[A-Za-z0-9-]{0,40}(?:Key|Token|Auth|Secret)[A-Za-z0-9-]{0,20})\b", re.I
)
_API_KEY = re.compile(r"\bapi[ _-]?keys?\b", re.I)
_OAUTH_PATH = re.compile(r"(?<![\w/.])/(?:oauth2?|o)/(authorize|token)\b", re.I)
_SCOPE_WORD = re.compile(r"scope", re.I)
_SCOPE_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)]|\|)?\s*`([A-Za-z][\w.:/-]{0,199})`\s*(.*)$")
_HOST_PLACEHOLDER = re.compile(
    r"^(?:\{+[^{}]{1,60}\}+|<[^<>]{1,60}>|\[[^\[\]]{1,60}\]|your[\w-]{0,60}|\$\{?\w{1,60}\}?)$",
    re.I,
)
_VERSIONISH = re.compile(r"^(?:api|rest|v\d+(?:\.\d+)?|\d+(?:\.\d+)+)$", re.I)
_NOT_CREDENTIAL = {"content-type", "accept", "user-agent", "content-length", "x-request-id"}
_CREDENTIAL_WORDS = ("key", "token", "auth", "secret", "api")
MAX_COMMANDS = 200


@dataclass
class DocsFindings:
    schemes: list[Scheme] = field(default_factory=list)
    base: BaseUrl | None = None
    title: str | None = None
    text: str = ""
    evidence: list[str] = field(default_factory=list)


def _passage(text: str, start: int, end: int) -> str:
    return one_line(text[max(0, start - 20) : min(len(text), end + 60)], 160)


def _curl_commands(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for match in _CURL.finditer(text):
        if len(out) >= MAX_COMMANDS:
            break
        lines: list[str] = []
        for line in text[match.start() : match.start() + 4000].split("\n"):
            stripped = line.rstrip()
            if stripped.endswith("\\"):
                lines.append(stripped[:-1])
                continue
            lines.append(stripped)
            break
        command = " ".join(lines).split("`")[0]
        out.append((match.start(), command))
    return out


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return [t.strip("\"'") for t in command.split()]


def _header_scheme(header: str, value: str, passage: str, order: int) -> Scheme | None:
    name = header.strip()
    value = value.strip()
    lowered = name.lower()
    where = "curl example"
    evidence = f"curl example: {passage}"
    if lowered == "authorization":
        word, _, rest = value.partition(" ")
        if word.lower() == "bearer":
            return Scheme(where, "BEARER", evidence, order=order)
        if word.lower() == "basic":
            return Scheme(where, "BASIC", evidence, order=order)
        scheme = Scheme(where, "API_KEY", evidence, order=order)
        if rest.strip() and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,40}", word):
            scheme.prefix = word + " "
            scheme.notes.append(f"the key is sent as {word + ' '!r} + key, as the example shows")
        return scheme
    if lowered in _NOT_CREDENTIAL or not any(w in lowered for w in _CREDENTIAL_WORDS):
        return None
    if header_problem(name):
        return None
    scheme = Scheme(where, "API_KEY", evidence, header=name, order=order)
    prefix = find_prefix(name, [f"{name}: {value}"])
    if prefix:
        scheme.prefix = prefix[0]
        scheme.notes.append(f"the key is sent as {prefix[0]!r} + key, as the example shows")
    return scheme


def _from_curl(order: int, command: str) -> tuple[list[Scheme], list[str]]:
    tokens = _tokens(command)[:200]
    schemes: list[Scheme] = []
    urls: list[str] = []
    passage = one_line(command, 160)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in ("-H", "--header") and ":" in following:
            name, _, value = following.partition(":")
            scheme = _header_scheme(name, value, passage, order)
            if scheme is not None:
                schemes.append(scheme)
            i += 2
            continue
        if token in ("-u", "--user") and following:
            _user, colon, password = following.partition(":")
            scheme = Scheme("curl example", "BASIC", f"curl example: {passage}", order=order)
            if colon and not password:
                scheme.username_only = True
                scheme.notes.append(
                    f"'-u {one_line(following, 40)}' sends a key as the user name with an "
                    "empty password"
                )
            schemes.append(scheme)
            i += 2
            continue
        if token == "--url" and following:  # noqa: S105 - a curl option
            urls.append(following)
            i += 2
            continue
        if token.lower().startswith(("http://", "https://")):
            urls.append(token)
        i += 1
    return schemes, urls


def _phrases(text: str) -> list[Scheme]:
    found: list[Scheme] = []
    match = _BEARER.search(text)
    if match:
        evidence = f"docs passage: {_passage(text, match.start(), match.end())}"
        found.append(Scheme("docs phrase", "BEARER", evidence, order=match.start()))
    match = _BASIC.search(text)
    if match:
        evidence = f"docs passage: {_passage(text, match.start(), match.end())}"
        found.append(Scheme("docs phrase", "BASIC", evidence, order=match.start()))
    match = _AUTH_PREFIX.search(text)
    if match:
        evidence = f"docs passage: {_passage(text, match.start(), match.end())}"
        scheme = Scheme("docs phrase", "API_KEY", evidence, order=match.start())
        scheme.prefix = match.group(1) + " "
        scheme.notes.append(f"the key is sent as {scheme.prefix!r} + key, as the docs show")
        found.append(scheme)
    match = _X_HEADER.search(text)
    if match and header_problem(match.group(1)) is None:
        header = match.group(1)
        evidence = f"docs passage: {_passage(text, match.start(), match.end())}"
        scheme = Scheme("docs phrase", "API_KEY", evidence, header=header, order=match.start())
        prefix = find_prefix(header, [text])
        if prefix:
            scheme.prefix = prefix[0]
            scheme.notes.append(f"the key is sent as {prefix[0]!r} + key, as shown in: {prefix[1]}")
        found.append(scheme)
    return found


def _weak_api_key(text: str) -> list[Scheme]:
    """A bare mention of an API key: used only when nothing more specific was found."""
    found: list[Scheme] = []
    match = _API_KEY.search(text)
    if match:
        evidence = f"docs passage: {_passage(text, match.start(), match.end())}"
        scheme = Scheme("docs phrase", "API_KEY", evidence, order=match.start())
        scheme.notes.append(
            "the docs mention an API key but not the header that carries it: assumed the "
            "Authorization header, value sent as-is; set auth_header_key_override if the "
            "API expects another header"
        )
        found.append(scheme)
    return found


def _valid(url: str) -> bool:
    try:
        check_upstream_url(url, current_allowlist(), allow_query=True)
    except ValueError:
        return False
    return True


def _clean_url(raw: str) -> str:
    return raw.rstrip(".,;:!?>'\"")


def _oauth(text: str, urls: list[str], base: BaseUrl | None, notes: list[str]) -> Scheme | None:
    authorize = next((u for u in urls if "authorize" in urlsplit(u).path.lower()), None)
    token = next(
        (
            u
            for u in urls
            if re.search(r"/(?:oauth2?/)?(?:access_)?token/?$", urlsplit(u).path, re.I)
        ),
        None,
    )
    paths = {m.group(1).lower(): m for m in _OAUTH_PATH.finditer(text[:2_000_000])}
    host_base = None
    if base is not None and "{{" not in base.url:
        parts = urlsplit(base.url)
        host_base = f"{parts.scheme}://{parts.netloc}"
    for kind in ("authorize", "token"):
        current = authorize if kind == "authorize" else token
        m = paths.get(kind)
        if current is None and m is not None and host_base is not None:
            built = host_base + m.group(0)
            notes.append(f"the docs show the path {m.group(0)}; assumed it is on {host_base}")
            if kind == "authorize":
                authorize = built
            else:
                token = built
    if authorize is None and token is None and not paths:
        return None
    evidence_bits = [u for u in (authorize, token) if u] or [m.group(0) for m in paths.values()]
    scheme = Scheme(
        "docs OAuth endpoints", "OAUTH", "docs OAuth endpoints: " + ", ".join(evidence_bits)
    )
    scheme.order = min((m.start() for m in paths.values()), default=0)
    scheme.notes.extend(notes)
    scopes: list[Scope] = []
    for kind, url in (("authorize", authorize), ("token", token)):
        if url is None:
            scheme.unsupported = f"the docs show no OAuth {kind} URL"
            continue
        full = https(url, scheme.notes, f"the OAuth {kind} URL")
        parts = urlsplit(full)
        if kind == "authorize" and parts.query:
            try:
                values = parse_qs(parts.query).get("scope", [])
            except ValueError:
                values = []
            for value in values[:5]:
                for name in re.split(r"[\s,+]+", unquote(value))[:100]:
                    if name:
                        scopes.append(Scope(name))
            full = full.split("?")[0]
        if not _valid(full):
            scheme.unsupported = f"the OAuth {kind} URL {url[:200]!r} is not a valid https URL"
            continue
        if kind == "authorize":
            scheme.authorize_uri = full
        else:
            scheme.token_uri = full
    scheme.scopes = scopes + _scope_list(text)
    return scheme


def _scope_list(text: str) -> list[Scope]:
    scopes: list[Scope] = []
    lines = text.split("\n")
    window = 0
    for line in lines[:200_000]:
        if _SCOPE_WORD.search(line):
            window = 40
        elif window:
            window -= 1
        if not window:
            continue
        match = _SCOPE_ITEM.match(line[:1000])
        if match and match.group(1).lower() not in {"scope", "scopes"}:
            description = match.group(2).strip(" |-:*–—").replace("|", " ").strip()
            scopes.append(Scope(match.group(1), description))
        if len(scopes) >= 500:
            break
    return scopes


def _template_host(host: str, hint_source: str) -> tuple[str, list[InputFieldBody]] | None:
    labels = host.split(".")
    marks = [i for i, label in enumerate(labels) if _HOST_PLACEHOLDER.match(label)]
    if not marks:
        return None
    if len(marks) == 1:
        labels[marks[0]] = "{{domain}}"
        candidate = ".".join(labels)
        if _valid(f"https://{candidate}/"):
            return candidate, [domain_field(f"Your part of the host in {hint_source}")]
    return "{{domain}}", [domain_field(f"The API host, as in {hint_source}")]


def _base(curl_urls: list[str], text: str, skip: set[str], assumed: list[str]) -> BaseUrl | None:
    urls = [_clean_url(u) for u in curl_urls if _clean_url(u) not in skip]
    origin = "curl examples"
    if not urls:
        match = re.search(
            r"base[ _-]?url[^\n]{0,80}?(https?://[^\s\"'`<>()\[\]|,]{1,300})", text, re.I
        )
        if match:
            urls = [_clean_url(match.group(1))]
            origin = "base URL named in the docs"
    if not urls:
        return None
    parsed: list[tuple[str, str, str]] = []
    for url in urls:
        scheme, _sep, rest = url.partition("://")
        host, _, path = rest.partition("/")
        host = host.split("?")[0].split("#")[0].lower()
        if host:
            parsed.append((scheme.lower(), host, "/" + path.split("?")[0].split("#")[0]))
    if not parsed:
        return None
    host = Counter(h for _, h, _ in parsed).most_common(1)[0][0]
    same = [p for p in parsed if p[1] == host]
    plain = any(s == "http" for s, _, _ in same) and not any(s == "https" for s, _, _ in same)
    keep_http = plain and allowed_http(host)
    if plain and not keep_http:
        assumed.append(f"the docs show http://{host}; assumed the API is also served over https://")
    paths = [p for _, _, p in same]
    if len(set(paths)) >= 2:
        prefix = common_prefix(paths)
    else:
        kept: list[str] = []
        for segment in safe_path(paths[0]).split("/"):
            if segment and _VERSIONISH.match(segment):
                kept.append(segment)
            elif segment:
                break
        prefix = "".join("/" + s for s in kept)
    fields: list[InputFieldBody] = []
    templated = _template_host(host, f"{same[0][0]}://{host}")
    if templated is not None:
        host_part, fields = templated
    elif _valid(f"https://{host}/"):
        host_part = host
    else:
        return None
    url = join_path(f"{'http' if keep_http else 'https'}://{host_part}", prefix)
    reason = f"the host {host} in the {origin}"
    if prefix:
        reason += f", with the shared path prefix {prefix}"
    return BaseUrl(url, [f.copy() for f in fields], reason)


def read_docs(text: str, missing: list[str], assumed: list[str]) -> DocsFindings:
    found = DocsFindings()
    if looks_like_html(text):
        body, title = html_to_text(text)
    else:
        body, title = text, markdown_title(text)
    found.title = title
    found.text = body
    schemes: list[Scheme] = []
    curl_urls: list[str] = []
    for order, command in _curl_commands(body):
        got, urls = _from_curl(order, command)
        schemes.extend(got)
        curl_urls.extend(urls)
    phrase_schemes = _phrases(body[:2_000_000])
    have = {s.auth_type for s in schemes}
    schemes.extend(s for s in phrase_schemes if s.auth_type not in have)
    if not schemes:
        schemes.extend(_weak_api_key(body[:2_000_000]))
    all_urls = [_clean_url(m.group(0)) for m in _URL.finditer(body[:2_000_000])][:5000]
    oauth_urls = [
        u for u in all_urls if "authorize" in u.lower() or re.search(r"/token/?(?:$|\?)", u, re.I)
    ]
    found.base = _base(curl_urls, body, set(oauth_urls), assumed)
    oauth = _oauth(body, oauth_urls, found.base, [])
    if oauth is not None:
        schemes.append(oauth)
    found.schemes = schemes
    if not schemes:
        missing.append(
            "the docs show no recognisable authentication (curl examples, headers, "
            "Basic auth, API key or OAuth endpoints)"
        )
    return found
