"""One Bearer and one Host parser (`authrelay.http_headers`), read the same by every surface."""

from __future__ import annotations

import pytest

from authrelay.http_headers import bearer_token, parse_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[::1]", ("[::1]", None)),
        ("[::1]:8080", ("[::1]", 8080)),
        ("[0:0:0:0:0:0:0:1]:9", ("[::1]", 9)),  # RFC 5952's form
        ("[2001:DB8::A]", ("[2001:db8::a]", None)),
        ("[::ffff:1.2.3.4]", ("[::ffff:1.2.3.4]", None)),
        ("example.com:443", ("example.com", 443)),
        ("Example.COM", ("example.com", None)),
        ("example.com.", ("example.com", None)),  # a fully qualified name is the same name
        ("example.com.:80", ("example.com", 80)),
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("example.com:", ("example.com", None)),  # RFC 3986: an empty port is no port
        ("", ("", None)),
    ],
)
def test_parse_host(value: str, expected: tuple[str, int | None]) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "::1",  # an IPv6 address needs its brackets
        "[::1",
        "[::1]x",
        "[::1]:x",
        "[example.com]",
        "[fe80::1%25eth0]",  # no zone identifiers in Host
        "exa mple.com",
        "user@example.com",
        "example.com:http",
        "example.com:-1",
        "example.com:65536",
        "example.com:１２",  # non-ASCII digits
        "a:b:c",
    ],
)
def test_parse_host_refuses_what_is_not_a_host(value: str) -> None:
    assert parse_host(value) == ("", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearerabc", None),
        ("", None),
    ],
)
def test_bearer_token(value: str, expected: str | None) -> None:
    assert bearer_token(value) == expected
