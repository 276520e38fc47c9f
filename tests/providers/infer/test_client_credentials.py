"""`providers infer` proposes the client-credentials grant from an OpenAPI oauth2
`clientCredentials` flow (3.x) or `flow: application` (2.0), when no authorization-code
flow is offered; the proposal passes validation."""

from __future__ import annotations

from authrelay.providers.infer import infer

from .helpers import names, pattern, read


def test_client_credentials_flow_v30() -> None:
    result = infer(openapi=read("openapi", "client_credentials_v30.yaml"))
    assert result.auth_type == "OAUTH"
    p = pattern(result)
    oauth = p["oauth_config"]
    assert oauth["grant_type"] == "client_credentials"
    assert oauth["token_uri"] == "https://auth.fleetline.example/oauth/token"
    assert "authorize_uri" not in oauth
    scopes = {s["scope"]: s for s in oauth["available_scopes"]}
    assert set(scopes) == {"vehicles:read", "drivers:write"}
    assert scopes["vehicles:read"]["required"] is True
    # the host variable is an input of the form (fields), not an account field
    assert names(p["fields"]) == ["region"] and "account_fields" not in p
    assert result.provider is not None
    assert result.provider["proxy_url"] == "https://{{region}}.fleetline.example/api/v2"
    assert any("client-credentials grant" in a for a in result.assumptions)
    assert any(a.startswith("BEARER") for a in result.alternatives)


def test_application_flow_v20_with_relative_token_url() -> None:
    result = infer(openapi=read("openapi", "client_credentials_v20.json"))
    oauth = pattern(result)["oauth_config"]
    assert oauth["grant_type"] == "client_credentials"
    assert oauth["token_uri"] == "https://api.ledgerpoint.example/oauth/token"
    assert any("relative tokenUrl" in a for a in result.assumptions)


def test_authorization_code_is_preferred_when_both_flows_exist() -> None:
    oauth = pattern(infer(openapi=read("openapi", "code_and_client_credentials_v31.yaml")))[
        "oauth_config"
    ]
    assert "grant_type" not in oauth
    assert oauth["authorize_uri"] == "https://id.dualgrant.example/authorize"
