"""Validation of auth_query_param, proxy_headers and retry (SPEC §3a) on its own: names and
templates that could break a request are refused, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from authrelay.errors import InvalidArgument
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist


def _definition(**pattern: Any) -> dict[str, Any]:
    return {
        "display_name": "Rules",
        "proxy_url": "https://api.example.com",
        "auth_patterns": [{"type": "API_KEY", "fields": [{"field_name": "api_key"}], **pattern}],
    }


def _fields(definition: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_definition(definition, UpstreamAllowlist([]))
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.parametrize(
    "name", ["key#x", "a@b", "k:8080", "a b", "", "a&b", "a=b", "k%41", "k/v", "x" * 101]
)
def test_hostile_query_param_names_are_refused(name: str) -> None:
    assert "auth_patterns[0].auth_query_param" in _fields(_definition(auth_query_param=name))


@pytest.mark.parametrize("name", ["api_key", "key.v2", "hapikey", "X-Token", "a~b"])
def test_plain_query_param_names_are_accepted(name: str) -> None:
    parsed = validate_definition(_definition(auth_query_param=name), UpstreamAllowlist([]))
    assert parsed.auth_patterns[0].auth_query_param == name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Key", "{{api_key}}\r\nX-Evil: 1"),
        ("X-Key", "a\nb"),
        ("X-Key\r\nX-Evil", "v"),
        ("X-Key:", "v"),
        ("Transfer-Encoding", "chunked"),
        ("connection_name", "other"),
        ("X-Key", "{{ api_key }}"),
        ("X-Key", "{{../api_key}}"),
        ("X-Key", "x" * 1001),
    ],
)
def test_hostile_header_templates_are_refused(name: str, value: str) -> None:
    fields = _fields(_definition(proxy_headers={name: value}))
    assert f"auth_patterns[0].proxy_headers.{name}" in fields


def test_template_names_and_credential_header() -> None:
    fields = _fields(
        _definition(
            auth_header_key_override="X-Key",
            proxy_headers={"x-key": "fixed", "X-Who": "{{password}}"},
        )
    )
    assert "carries the credential" in fields["auth_patterns[0].proxy_headers.x-key"]
    assert "names no field" in fields["auth_patterns[0].proxy_headers.X-Who"]
    # The same header placing the credential is fine, and skips the default injection.
    ok = _definition(auth_header_key_override="X-Key", proxy_headers={"x-key": "k {{api_key}}"})
    validate_definition(ok, UpstreamAllowlist([]))


def test_retry_defaults() -> None:
    definition = _definition()
    definition["retry"] = {}
    retry = validate_definition(definition, UpstreamAllowlist([])).retry
    assert retry is not None
    assert (retry.max_attempts, retry.on_status, retry.max_wait_seconds) == (
        1,
        [429, 502, 503, 504],
        10.0,
    )
