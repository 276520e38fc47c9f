"""The cached route of a proxied call: what it derives once, and what it never shows."""

from __future__ import annotations

from authrelay.proxy.routes import Route
from authrelay_client.providers.model import AuthPattern


def _route(header_name: str, pattern_type: str) -> Route:
    return Route(
        account_id="ca_1",
        base_url="https://api.example.com/v1",
        origin=("https", "api.example.com", 443),
        base_path="/v1",
        header_name=header_name,
        header_value="planted-credential-value",
        pattern=AuthPattern(type=pattern_type),
    )


def test_derived_fields() -> None:
    route = _route("X-Api-Key", "API_KEY")
    assert route.header_key == b"x-api-key" and route.oauth is False
    assert _route("Authorization", "OAUTH").oauth is True


def test_the_credential_is_not_in_the_repr() -> None:
    route = _route("Authorization", "BEARER")
    assert "planted-credential-value" not in repr(route)
    assert "planted-credential-value" not in str(route)
