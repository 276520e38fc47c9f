"""The built-in catalog: real APIs, each validated by the same validator as custom providers."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from authrelay.providers.catalog import CatalogError, load_catalog, parse_catalog_entry
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.identifiers import derive_identifier

CATALOG = resources.files("authrelay.providers") / "catalog"
FILES = sorted(p.name for p in CATALOG.iterdir() if p.name.endswith(".json"))


def test_catalog_has_at_least_25_real_apis() -> None:
    catalog = load_catalog()
    assert len(catalog.entries) >= 25
    for name in (
        "github",
        "googlecalendar",
        "slack",
        "notion",
        "asana",
        "hubspot",
        "salesforce",
        "linear",
        "jira",
        "zendesk",
        "stripe",
    ):
        assert catalog.get(name) is not None, name


@pytest.mark.parametrize("name", FILES)
def test_each_file_passes_the_custom_provider_validator(name: str) -> None:
    data = json.loads((CATALOG / name).read_text())
    body = {k: v for k, v in data.items() if k not in {"categories", "display_priority"}}
    definition = validate_definition(body, UpstreamAllowlist([]))
    assert name == f"{derive_identifier(definition.display_name)}.json"
    assert definition.proxy_url.startswith("https://")
    for pattern in definition.auth_patterns:
        if pattern.type == "OAUTH":
            oauth = pattern.oauth_config
            assert oauth is not None and oauth.token_uri
            # the client-credentials grant has no authorization endpoint
            assert oauth.authorize_uri or oauth.grant_type == "client_credentials"


def test_known_facts() -> None:
    catalog = load_catalog()
    slack = catalog.get("slack")
    assert slack is not None
    oauth = slack.definition.auth_patterns[0].oauth_config
    assert oauth is not None and oauth.scope_separator == ","
    assert oauth.authorize_uri == "https://slack.com/oauth/v2/authorize"
    freshdesk = catalog.get("freshdesk")
    assert freshdesk is not None
    pattern = freshdesk.definition.auth_patterns[0]
    assert pattern.type == "BASIC" and "{{domain}}" in freshdesk.definition.proxy_url
    assert (
        pattern.auth_field_mutations is not None
        and pattern.auth_field_mutations.password is not None
    )
    assert pattern.auth_field_mutations.password.default == "X"
    anthropic = catalog.get("anthropic")
    assert (
        anthropic is not None
        and anthropic.definition.auth_patterns[0].auth_header_key_override == "x-api-key"
    )


def test_an_invalid_catalog_entry_is_refused() -> None:
    with pytest.raises(CatalogError, match="proxy_url"):
        parse_catalog_entry(
            "bad.json",
            {
                "display_name": "Bad",
                "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token"}]}],
                "proxy_url": "http://bad.example",
            },
        )
