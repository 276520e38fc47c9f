"""The redactor (authrelay/redact.py): a known secret is blanked out of upstream text in
every form an upstream may echo it in, and nothing else is touched."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus, urlencode

import pytest

from authrelay.redact import MIN_LENGTH, REDACTED, Redactor, header_secrets, spellings

SECRET = 'sk_live/4+x=9 "q"&ü~'
CLIENT_ID = "my client@example"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote default safe": quote,
    "quote_plus": quote_plus,
    "lower-case hex": lambda s: quote(s, safe="").replace("%2B", "%2b").replace("%2F", "%2f"),
    "form body": lambda s: urlencode({"client_secret": s}),
    "json": lambda s: json.dumps({"echo": s}),
    "json non-ascii": lambda s: json.dumps({"echo": s}, ensure_ascii=False),
    "json escaped slash": lambda s: json.dumps(s).replace("/", "\\/"),
    "html": html.escape,
    "base64": _b64,
    "base64 unpadded": lambda s: _b64(s).rstrip("="),
    "base64 url-safe": _b64url,
    "base64 of the form body": lambda s: _b64(f"grant_type=x&client_secret={quote_plus(s)}"),
    "base64 inside text at offset 1": lambda s: _b64(f"a{s}b"),
    "base64 inside text at offset 2": lambda s: _b64(f"ab{s}"),
    "basic header": lambda s: "Basic " + _b64(f"{CLIENT_ID}:{s}"),
    "basic header, RFC 6749 encoded": lambda s: (
        "Basic " + _b64(f"{quote(CLIENT_ID, safe='')}:{quote(s, safe='')}")
    ),
    "basic header url-safe": lambda s: _b64url(f"{CLIENT_ID}:{s}"),
    "base64 in json": lambda s: json.dumps({"auth": _b64(s)}).replace("/", "\\/"),
}


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_each_encoding_of_a_secret_is_blanked_out(encode: Callable[[str], str]) -> None:
    redactor = Redactor([SECRET], pairs=[(CLIENT_ID, SECRET)])
    echoed = encode(SECRET)
    assert echoed  # the form exists
    shown = redactor.text(f"the server got <{echoed}> and refused it")
    assert echoed not in shown
    assert REDACTED in shown
    assert shown.startswith("the server got <") and shown.endswith("> and refused it")


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_json_values_are_redacted_in_keys_and_nested_strings(
    encode: Callable[[str], str],
) -> None:
    redactor = Redactor([SECRET], pairs=[(CLIENT_ID, SECRET)])
    echoed = encode(SECRET)
    value = {"error": {"got": [echoed, 3, None, True]}, echoed: "key", "n": 1.5}
    cleaned = redactor.json(value)
    assert echoed not in json.dumps(cleaned, ensure_ascii=False)
    assert cleaned["error"]["got"][0].count(REDACTED) >= 1
    assert cleaned["error"]["got"][1:] == [3, None, True] and cleaned["n"] == 1.5


def test_other_text_is_left_as_it_is() -> None:
    redactor = Redactor(["correct-horse-battery"])
    text = "invalid_client: the client is unknown (correct-horse is a prefix only)"
    assert redactor.text(text) == text
    assert redactor.json({"a": [text, 1]}) == {"a": [text, 1]}


def test_several_secrets_and_the_longest_form_wins() -> None:
    token, refresh = "access-token-1234", "access-token-1234-and-more"
    shown = Redactor([token, refresh, None, ""]).text(f"{refresh} then {token}")
    assert shown == f"{REDACTED} then {REDACTED}"


def test_short_and_empty_values_are_not_searched_for() -> None:
    assert spellings("x" * (MIN_LENGTH - 1)) == set()
    redactor = Redactor(["", "us", None])
    assert not redactor
    assert redactor.text("status: us-east") == "status: us-east"
    assert Redactor(["x" * MIN_LENGTH])


def test_header_secrets_name_the_credential_and_a_basic_pair() -> None:
    assert header_secrets("Bearer tok-123456") == ["Bearer tok-123456", "tok-123456"]
    basic = "Basic " + _b64("alice:pa55word!")
    assert header_secrets(basic) == [
        basic,
        _b64("alice:pa55word!"),
        "alice:pa55word!",
        "alice",
        "pa55word!",
    ]
    assert header_secrets("Basic not base64!") == ["Basic not base64!", "not base64!"]
    assert header_secrets("rawkey-123456") == ["rawkey-123456"]
