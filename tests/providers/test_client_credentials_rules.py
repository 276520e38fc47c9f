"""Client-credentials definitions (SPEC §3a): what is accepted, every bad field named (in
process and through the real server), hostile template values refused, and the CLI's diff
showing the new fields."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from authrelay.errors import InvalidArgument
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.diff import diff_definitions
from tests.support.servers import Server

ALLOW = UpstreamAllowlist(["127.0.0.0/8", "localhost"])
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "examples"


def _good() -> dict[str, Any]:
    return {
        "display_name": "Machine API",
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [
                    {"field_name": "client_id", "required": True},
                    {"field_name": "client_secret", "input_type": "password", "required": True},
                    {"field_name": "tenant", "required": True},
                ],
                "oauth_config": {
                    "grant_type": "client_credentials",
                    "token_uri": "https://auth.example.com/oauth/token",
                    "token_auth_method": "client_secret_basic",
                    "available_scopes": [{"scope": "read"}],
                    "token_params": {"audience": "https://api.example.com/{{tenant}}"},
                },
            }
        ],
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
    }


def violations(raw: Any) -> dict[str, str]:
    try:
        validate_definition(raw, ALLOW)
    except InvalidArgument as exc:
        return {v.field: v.description for v in exc.violations}
    return {}


def test_good_definitions_are_accepted_and_stored_as_given() -> None:
    definition = validate_definition(_good(), ALLOW)
    oauth = definition.auth_patterns[0].oauth_config
    assert oauth is not None and oauth.grant_type == "client_credentials"
    stored = definition.public()["auth_patterns"][0]["oauth_config"]
    assert stored["grant_type"] == "client_credentials"
    assert stored["token_params"] == {"audience": "https://api.example.com/{{tenant}}"}
    # the connection's client instead of per-account fields
    shared = _good()
    shared["auth_patterns"][0]["fields"] = []
    shared["auth_patterns"][0]["oauth_config"]["token_params"] = {"audience": "api"}
    assert violations(shared) == {}
    # token_params on the authorization-code grant name account_fields
    asana = json.loads((EXAMPLES / "oauth_asana.json").read_text())
    pattern = asana["auth_patterns"][0]
    pattern["account_fields"] = [{"field_name": "workspace"}]
    pattern["oauth_config"]["token_params"] = {"resource": "ws-{{workspace}}"}
    assert violations(asana) == {}
    # Scalekit's payloads stay as they were: no grant_type added to the stored form
    plain = json.loads((EXAMPLES / "oauth_asana.json").read_text())
    stored_plain = validate_definition(plain, ALLOW).public()["auth_patterns"][0]["oauth_config"]
    assert "grant_type" not in stored_plain and "token_params" not in stored_plain


def _bad() -> dict[str, Any]:
    bad = _good()
    pattern = bad["auth_patterns"][0]
    pattern["fields"] = [{"field_name": "client_id"}]  # without client_secret
    pattern["account_fields"] = [{"field_name": "region"}]
    oauth = pattern["oauth_config"]
    del oauth["token_uri"]
    oauth["authorize_uri"] = "https://auth.example.com/authorize"
    oauth["user_info_uri"] = "https://auth.example.com/me"
    oauth["pkce_enabled"] = True
    oauth["token_params"] = {
        "client_secret": "x",
        "scope": "everything",
        "audience": "{{nope}}",
        "bad name": "x",
        "crlf": "a\r\nb",
        "unbalanced": "{{tenant",
        "badplaceholder": "{{Not Valid}}",
    }
    second = copy.deepcopy(_good()["auth_patterns"][0])
    second["type"] = "BEARER"
    second["fields"] = [{"field_name": "token"}]
    second["oauth_config"]["grant_type"] = "password"
    bad["auth_patterns"].append(second)
    return bad


EXPECTED = {
    "auth_patterns[0].oauth_config.token_uri": "is required",
    "auth_patterns[0].oauth_config.authorize_uri": "client_credentials",
    "auth_patterns[0].oauth_config.user_info_uri": "client_credentials",
    "auth_patterns[0].oauth_config.pkce_enabled": "authorization_code",
    "auth_patterns[0].account_fields": "fields",
    "auth_patterns[0].fields": "client_secret",
    "auth_patterns[0].oauth_config.token_params.client_secret": "set by authrelay",
    "auth_patterns[0].oauth_config.token_params.scope": "set by authrelay",
    "auth_patterns[0].oauth_config.token_params.audience": "{{nope}}",
    "auth_patterns[0].oauth_config.token_params.bad name": "query parameter name",
    "auth_patterns[0].oauth_config.token_params.crlf": "CR, LF",
    "auth_patterns[0].oauth_config.token_params.unbalanced": "unbalanced",
    "auth_patterns[0].oauth_config.token_params.badplaceholder": "not a valid field name",
    "auth_patterns[1].oauth_config.grant_type": "must be one of",
}


def test_every_bad_field_is_named() -> None:
    found = violations(_bad())
    for field, text in EXPECTED.items():
        assert field in found, (field, found)
        assert text in found[field], (field, found[field])


def test_the_server_names_every_bad_field(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        response = api.post("/api/v1/custom-providers", json=_bad())
        listed = api.get("/api/v1/providers", params={"identifier": "machineapi"}).json()
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3
    named = {v["field"] for d in body["details"] for v in d.get("field_violations", [])}
    assert set(EXPECTED) <= named, set(EXPECTED) - named
    assert listed["providers"] == []  # nothing stored


HOSTILE = ["a..b", "user@evil", "x#frag", "host:8443", "a/b", "two words", "a\r\nb"]


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_template_values_are_refused(
    server: Server, dev_client: dict[str, str], unique: str, index: int
) -> None:
    """token_params values are filled from the account's fields: a value that could bend
    the token request is refused when the account is created, naming the field."""
    definition = _good()
    definition["display_name"] = f"Hostile CC {unique} {index}"
    identifier = f"hostilecc{unique}{index}"
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition)
        assert created.status_code == 201, created.text
        connection = api.post(
            "/api/v1/connections", json={"provider_key": identifier, "key_id": identifier}
        )
        assert connection.status_code == 201, connection.text
        details = {"client_id": "c", "client_secret": "s", "tenant": HOSTILE[index]}
        response = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": identifier,
                "identifier": "who",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": details}}
                },
            },
        )
        assert response.status_code == 400, response.text
        fields = {v["field"] for d in response.json()["details"] for v in d["field_violations"]}
        assert fields == {"connected_account.authorization_details.static_auth.details.tenant"}
        listed = api.get("/api/v1/connected_accounts", params={"connector": identifier})
        assert listed.json()["connected_accounts"] == []


def test_diff_shows_grant_type_and_token_params() -> None:
    old = _good()
    new = copy.deepcopy(old)
    new["auth_patterns"][0]["oauth_config"]["grant_type"] = "authorization_code"
    new["auth_patterns"][0]["oauth_config"]["token_params"] = {"audience": "other"}
    paths = {c.path for c in diff_definitions(old, new)}
    assert any(p.endswith("oauth_config.grant_type") for p in paths), paths
    assert any("token_params" in p for p in paths), paths
