"""`providers infer` proposes host-label placeholders (SPEC §3a) from OpenAPI server
variables that are whole labels of the host, for the proxy URL and the OAuth URLs."""

from __future__ import annotations

import json
from typing import Any

from authrelay.providers.infer import infer

from .helpers import names, pattern


def _doc(server: dict[str, Any], schemes: dict[str, Any]) -> str:
    return json.dumps(
        {
            "openapi": "3.0.3",
            "info": {"title": "Helpdesk Cloud", "version": "1"},
            "servers": [server],
            "paths": {"/tickets": {}, "/users": {}},
            "components": {"securitySchemes": schemes},
            "security": [{name: [] for name in schemes}],
        }
    )


def test_whole_label_variables_become_named_placeholders() -> None:
    document = _doc(
        {
            "url": "https://{subdomain}.{region}.helpdesk.example/api/v2",
            "variables": {
                "subdomain": {"default": "acme"},
                "region": {"default": "eu", "enum": ["eu", "us"]},
            },
        },
        {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
    )
    result = infer(openapi=document)
    p = pattern(result)
    assert result.provider is not None
    assert (
        result.provider["proxy_url"] == "https://{{subdomain}}.{{region}}.helpdesk.example/api/v2"
    )
    fields = {f["field_name"]: f for f in p["fields"]}
    assert names(p["fields"])[:2] == ["subdomain", "region"]
    assert "acme" in fields["subdomain"]["hint"] and fields["subdomain"]["required"]
    assert fields["region"]["input_type"] == "select" and fields["region"]["options"] == [
        "eu",
        "us",
    ]
    assert not fields["subdomain"].get("is_path_param")


def test_oauth_urls_with_the_same_variable_use_the_placeholder() -> None:
    document = _doc(
        {
            "url": "https://{subdomain}.helpdesk.example/api/v2",
            "variables": {"subdomain": {"default": "acme"}},
        },
        {
            "oauth": {
                "type": "oauth2",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "https://{subdomain}.helpdesk.example/oauth/authorize",
                        "tokenUrl": "/oauth/token",
                        "scopes": {"read": "Read"},
                    }
                },
            }
        },
    )
    result = infer(openapi=document)
    p = pattern(result)
    assert p["type"] == "OAUTH"
    config = p["oauth_config"]
    assert config["authorize_uri"] == "https://{{subdomain}}.helpdesk.example/oauth/authorize"
    # a relative tokenUrl resolves against the templated server URL
    assert config["token_uri"] == "https://{{subdomain}}.helpdesk.example/oauth/token"
    assert names(p["account_fields"]) == ["subdomain"]


def test_variables_inside_a_label_still_make_a_domain_field() -> None:
    document = _doc(
        {"url": "https://api-{env}.helpdesk.example", "variables": {"env": {"default": "prod"}}},
        {"bearer": {"type": "http", "scheme": "bearer"}},
    )
    result = infer(openapi=document)
    p = pattern(result)
    assert result.provider is not None
    assert result.provider["proxy_url"] == "https://{{domain}}"
    assert "domain" in names(p["fields"])
