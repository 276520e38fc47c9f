"""Names checked by a regular expression refuse a trailing newline (Python's `$` matches
before one; found by fuzzing against the document's patterns)."""

from __future__ import annotations

from typing import Any

from tests.support.resources import (
    APP,
    api_key_provider,
    create_provider,
    oauth_provider,
    violations,
)
from tests.support.servers import Server


def test_provider_names_refuse_a_trailing_newline(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    cases: list[tuple[dict[str, Any], str]] = []
    named = api_key_provider(f"Newline {unique}\n")
    cases.append((named, "display_name"))
    field = api_key_provider(f"Newline F {unique}")
    field["auth_patterns"][0]["fields"][0]["field_name"] = "api_key\n"
    cases.append((field, "auth_patterns[0].fields[0].field_name"))
    scope = oauth_provider(f"Newline S {unique}")
    scope["auth_patterns"][0]["oauth_config"]["custom_scope_name"] = "scope\n"
    cases.append((scope, "auth_patterns[0].oauth_config.custom_scope_name"))
    with server.api(dev_client) as api:
        for body, field_path in cases:
            response = api.post("/api/v1/custom-providers", json=body)
            assert field_path in violations(response), response.text
        identifier = create_provider(api, api_key_provider(f"Newline C {unique}"))
        response = api.post(
            "/api/v1/connections",
            params=APP,
            json={"provider_key": identifier, "key_id": f"conn-{unique}\n"},
        )
        assert "key_id" in violations(response)
