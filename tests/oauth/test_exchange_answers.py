"""Reading a token-exchange answer and making its errors safe to show (oauth/exchange.py):
dot paths, lifetimes in the forms APIs give them, secrets blanked out in every spelling."""

from __future__ import annotations

import json
import time

import pytest

from authrelay.oauth.exchange import _expires_at, clip, header_value, lookup
from authrelay_client.providers.model import TokenExchange


def block(**extra: object) -> TokenExchange:
    data = {"url": "https://auth.example.com/t", "token_path": "data.token", **extra}
    return TokenExchange.model_validate(data)


def test_lookup_walks_objects_and_lists() -> None:
    answer = {"data": {"token": "t1"}, "items": [{"token": "t2"}], "n": 5}
    assert lookup(answer, "data.token") == "t1"
    assert lookup(answer, "items.0.token") == "t2"
    assert lookup(answer, "items.1.token") is None
    assert lookup(answer, "n.x") is None
    assert lookup(answer, "missing") is None
    assert lookup([{"a": 1}], "0.a") == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (120, 120),
        (120.5, 120.5),
        ("90", 90),
        (True, None),
        ("soon", None),
        (-5, None),
        (None, None),
    ],
)
def test_lifetime_from_the_answer(value: object, seconds: float | None) -> None:
    config = block(expires_in_path="data.ttl")
    before = time.time()
    got = _expires_at(config, {"data": {"ttl": value}})
    if seconds is None:
        assert got is None
    else:
        assert got is not None and before + seconds <= got <= time.time() + seconds


def test_default_ttl_when_the_answer_has_none() -> None:
    config = block(expires_in_path="data.ttl", default_ttl_seconds=600)
    before = time.time()
    got = _expires_at(config, {"data": {}})
    assert got is not None and before + 600 <= got <= time.time() + 600
    assert _expires_at(block(), {"data": {"ttl": 5}}) is None  # no path, no default


def test_clip_blanks_secrets_in_every_spelling_and_bounds_length() -> None:
    secret = 'p@ss "word"/+1'
    escaped = json.dumps(secret)[1:-1]
    assert escaped != secret
    text = f"raw {secret} json {escaped} form p%40ss+%22word%22%2F%2B1 and\r\nnewline\x00"
    shown = clip(text, [secret, ""])
    assert "p@ss" not in shown and "word" not in shown
    assert shown.count("[redacted]") == 3
    assert "\r" not in shown and "\n" not in shown and "\x00" not in shown
    long = clip("x" * 1000, [])
    assert len(long) == 301 and long.endswith("…")


def test_header_value_fills_token_and_fields_and_refuses_line_breaks() -> None:
    config = block(header_template="Key {{app}} {{token}}")
    assert header_value(config, "tok", {"app": "a1"}) == "Key a1 tok"
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        header_value(config, "tok\r\nX-Evil: 1", {"app": "a1"})
