"""Known secrets blanked out of upstream text before it leaves authrelay.

An upstream that echoes what it received (a token endpoint's `error_description`, an
exchange endpoint's or a tool upstream's error body) may hand back the client secret, a
refresh token, an authorization code or a user's API key, and authrelay would pass it on
in an error message, a tool result and so a model's context. Each outbound call names the
secrets it sends (`Redactor(...)`); whatever upstream text becomes part of an answer goes
through `Redactor.text` or `Redactor.json` first.

A secret is searched for as it is and as it may come back: percent-encoded (`quote`,
`quote_plus`, once or twice, hex digits in either case), JSON- and HTML-escaped, and
base64 (standard and URL-safe, with or without padding, and at any offset inside a longer
base64 text such as a Basic header's `id:secret`). Values shorter than MIN_LENGTH are not
searched for: they would blank ordinary words and are no secret worth the name.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import quote, quote_plus

REDACTED: Final = "[redacted]"
MIN_LENGTH: Final = 4

_PERCENT = re.compile(r"%([0-9A-Fa-f])([0-9A-Fa-f])")


def _form_pattern(form: str) -> str:
    """A regular expression matching `form` literally, its percent escapes in either case
    (`%2F` and `%2f`: servers re-encode either way)."""
    out, last = [], 0
    for m in _PERCENT.finditer(form):
        out.append(re.escape(form[last : m.start()]))
        out.append("%" + "".join(f"[{c.upper()}{c.lower()}]" for c in m.groups()))
        last = m.end()
    out.append(re.escape(form[last:]))
    return "".join(out)


def _base64_cores(raw: bytes) -> set[str]:
    """Every spelling `raw` takes inside a base64 text: the whole encoding (with and without
    padding) and, for each of the three offsets it may start at, the characters that come
    from its bytes alone."""
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        out.update({whole, whole.rstrip("=")})
        for offset in range(3):
            shifted = encode(b"\0" * offset + raw).decode("ascii")
            start = -(-8 * offset // 6)  # the first character of raw's bits only
            end = 8 * (offset + len(raw)) // 6  # past the last one
            if end - start >= MIN_LENGTH:
                out.add(shifted[start:end])
    return out


def _json_forms(text: str) -> set[str]:
    escaped = json.dumps(text)[1:-1]
    unicode = json.dumps(text, ensure_ascii=False)[1:-1]
    return {escaped, unicode, escaped.replace("/", "\\/"), unicode.replace("/", "\\/")}


def spellings(secret: str) -> set[str]:
    """The forms of `secret` searched for (empty when it is too short to search)."""
    if len(secret) < MIN_LENGTH:
        return set()
    once = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    # encoded twice too: a form body (or a Basic pair RFC 6749 percent-encodes) echoed
    # percent-encoded once more
    encoded = once | {quote(e, safe="") for e in once} | {quote_plus(e) for e in once}
    plain = {secret, html.escape(secret), *_json_forms(secret), *encoded}
    out = set(plain)
    for form in {secret, *encoded}:
        for core in _base64_cores(form.encode()):
            out.update(_json_forms(core))
    return {form for form in out if len(form) >= MIN_LENGTH}


class Redactor:
    """Blanks the secrets of one outbound call out of text and JSON values."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str | None], pairs: Iterable[tuple[str, str]] = ()):
        """`secrets`: the values sent; `pairs`: (user, secret) sent as Basic credentials,
        searched for as `user:secret` (also percent-encoded, as RFC 6749 §2.3.1 sends)."""
        values = {s for s in secrets if s}
        for user, secret in pairs:
            if secret:
                values.add(f"{user}:{secret}")
                values.add(f"{quote(user, safe='')}:{quote(secret, safe='')}")
        forms: set[str] = set()
        for value in values:
            forms |= spellings(value)
        ordered = sorted(forms, key=lambda f: (-len(f), f))  # the longest form wins
        self._pattern = re.compile("|".join(map(_form_pattern, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """`text` with each secret, in each of its forms, replaced by REDACTED."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def json(self, value: Any) -> Any:
        """A JSON value with `text` applied to every string in it, keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


def header_secrets(value: str) -> list[str]:
    """The secrets inside one credential header value: the value itself, what follows its
    scheme word (`Bearer x`, `Basic x`), and a Basic value's decoded `user:password` with
    each of its parts."""
    out = [value]
    scheme, _, rest = value.partition(" ")
    if rest:
        out.append(rest)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(rest, validate=True).decode()
            except ValueError:
                return out
            user, _, password = decoded.partition(":")
            out.extend([decoded, user, password])
    return out
