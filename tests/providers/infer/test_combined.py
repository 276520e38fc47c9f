"""OpenAPI and docs together, the JSON form and the human summary."""

from __future__ import annotations

import json

from authrelay.providers.infer import InferenceResult, infer

from .helpers import pattern, read


def test_docs_supply_the_prefix_for_an_openapi_header_key() -> None:
    openapi = read("openapi", "apikey_header_v30.yaml")
    docs = "# Weatherwise\n\n    curl -H 'X-API-Key: Key <your key>' https://api.weatherwise.example/x\n"
    result = infer(openapi=openapi, docs=docs)
    p = pattern(result)
    assert p["auth_header_key_override"] == "X-API-Key"
    assert p["auth_field_mutations"] == {"api_key": {"prefix": "Key "}}


def test_openapi_schemes_win_and_docs_give_the_host() -> None:
    openapi = read("openapi", "relative_server_v30.json")
    docs = read("docs", "bearer_curl.md")
    result = infer(openapi=openapi, docs=docs)
    assert result.auth_type == "API_KEY"  # the OpenAPI scheme, not the docs' bearer
    assert result.provider is not None
    assert result.provider["proxy_url"] == "https://api.notely.example/v1"
    assert any(a.startswith("BEARER") for a in result.alternatives)


def test_as_json_shape() -> None:
    result = infer(openapi=read("openapi", "oauth_v30.yaml"), name="Taskly")
    data = result.as_json()
    assert set(data) >= {"provider", "auth_type", "evidence", "assumptions", "missing"}
    assert data["auth_type"] == "OAUTH"
    assert json.loads(json.dumps(data)) == data
    assert json.loads(result.to_json_text()) == data


def test_summary_mentions_evidence_fields_proxy_and_gaps() -> None:
    result = infer(openapi=read("openapi", "relative_server_v30.json"))
    text = result.summary()
    assert "Inferred auth type: API_KEY" in text
    assert "X-Wiki-Token" in text
    assert "Tracked fields: domain, api_key" in text
    assert "proxy_url: https://{{domain}}/api/v1" in text
    assert "why:" in text and "relative" in text
    assert "Missing" in text


def test_summary_without_provider() -> None:
    result = infer(openapi=read("openapi", "unsupported_only_v30.json"))
    assert "No usable auth scheme" in result.summary()
    assert isinstance(result, InferenceResult)


def test_nothing_given() -> None:
    result = infer()
    assert result.provider is None and result.missing
