"""Self-test of the oidc-provider test harness: real node processes, real HTTP, no mocks."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.oauth_server import OAuthServer, complete_login, start_oauth_server

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the last redirect is not followed
BASIC: dict[str, Any] = {
    "client_id": "basic-client",
    "client_secret": "basic-secret",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic",
}
POST: dict[str, Any] = {
    "client_id": "post-client",
    "client_secret": "post-secret",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_post",
}


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """Long-lived access tokens."""
    server = start_oauth_server(tmp_path_factory.mktemp("oauth"), [BASIC, POST])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """Access tokens that expire after 2 seconds."""
    server = start_oauth_server(tmp_path_factory.mktemp("oauth-short"), [BASIC, POST], 2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(
    server: OAuthServer, client: dict[str, Any], scope: str, state: str, challenge: str | None
) -> str:
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{server.authorize_url}?{urlencode(params)}"


def redirect_params(resp: httpx.Response) -> dict[str, str]:
    location = resp.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(
    server: OAuthServer,
    client: dict[str, Any],
    username: str,
    scope: str = "read write",
    challenge: str | None = None,
) -> str:
    state = secrets.token_urlsafe(8)
    resp = complete_login(authorize_url(server, client, scope, state, challenge), username)
    assert resp.status_code in (302, 303)
    params = redirect_params(resp)
    assert params["state"] == state
    assert params["iss"] == server.issuer
    return params["code"]


def token_request(
    http: httpx.Client, server: OAuthServer, client: dict[str, Any], data: dict[str, str]
) -> httpx.Response:
    if client["token_endpoint_auth_method"] == "client_secret_basic":
        auth = (client["client_id"], client["client_secret"])
        return http.post(server.token_url, data=data, auth=auth)
    body = data | {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    return http.post(server.token_url, data=body)


def exchange(
    http: httpx.Client,
    server: OAuthServer,
    client: dict[str, Any],
    code: str,
    verifier: str | None = None,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    return token_request(http, server, client, data)


def refresh(
    http: httpx.Client, server: OAuthServer, client: dict[str, Any], refresh_token: str
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(http, server, client, data)


def whoami(http: httpx.Client, server: OAuthServer, access_token: str) -> httpx.Response:
    return http.get(server.whoami_url, headers={"Authorization": f"Bearer {access_token}"})


def test_discovery_endpoints(oauth: OAuthServer) -> None:
    assert oauth.issuer == oauth.url
    assert oauth.authorize_url.startswith(oauth.url + "/")
    assert oauth.token_url.startswith(oauth.url + "/")
    assert oauth.userinfo_url.startswith(oauth.url + "/")
    assert "S256" in oauth.discovery["code_challenge_methods_supported"]


def test_pkce_flow_expiry_refresh_rotation(short: OAuthServer, http: httpx.Client) -> None:
    short.reset()
    verifier, challenge = pkce_pair()
    code = get_code(short, BASIC, "alice", "openid read write", challenge)

    resp = exchange(http, short, BASIC, code, verifier)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] <= 2
    assert set(tokens["scope"].split()) == {"openid", "read", "write"}
    access, refresh_token = tokens["access_token"], tokens["refresh_token"]

    me = whoami(http, short, access)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "sub": "alice",
        "scope": tokens["scope"],
        "client_id": "basic-client",
        "token_suffix": access[-6:],
    }

    # The access token expires: poll (bounded) until the resource rejects it.
    for _ in range(100):
        me = whoami(http, short, access)
        if me.status_code == 401:
            break
        time.sleep(0.1)
    assert me.status_code == 401
    assert me.json() == {"error": "invalid_token"}

    resp = refresh(http, short, BASIC, refresh_token)
    assert resp.status_code == 200, resp.text
    renewed = resp.json()
    assert renewed["access_token"] != access
    assert renewed["refresh_token"] != refresh_token
    me = whoami(http, short, renewed["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == "alice"
    assert me.json()["token_suffix"] == renewed["access_token"][-6:]

    # Rotation: the used refresh token is dead ...
    resp = refresh(http, short, BASIC, refresh_token)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"
    # ... and presenting it again revoked the whole grant (oidc-provider's reuse detection).
    resp = refresh(http, short, BASIC, renewed["refresh_token"])
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"

    stats = short.stats()
    last = stats.pop("last_token_params")
    assert last["grant_type"] == "refresh_token" and "client_secret" not in last
    assert stats == {
        "token_requests": 4,
        "token_requests_by_grant": {"authorization_code": 1, "refresh_token": 3},
        "userinfo_requests": 0,
    }
    short.reset()
    assert short.stats()["token_requests"] == 0


def test_pkce_verifier_is_checked(oauth: OAuthServer, http: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(oauth, BASIC, "bob", challenge=challenge)
    resp = exchange(http, oauth, BASIC, code, pkce_pair()[0])
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"

    code = get_code(oauth, BASIC, "bob", challenge=challenge)
    resp = exchange(http, oauth, BASIC, code)  # challenge sent, verifier missing
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"

    code = get_code(oauth, BASIC, "bob", challenge=challenge)
    resp = exchange(http, oauth, BASIC, code, verifier)
    assert resp.status_code == 200, resp.text


def test_code_flow_without_pkce_client_secret_post(oauth: OAuthServer, http: httpx.Client) -> None:
    code = get_code(oauth, POST, "carol", "read write unknown-scope")
    resp = exchange(http, oauth, POST, code)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    # A refresh token without offline_access; unknown scopes are dropped.
    assert tokens["refresh_token"]
    assert tokens["scope"] == "read write"
    assert "id_token" not in tokens
    me = whoami(http, oauth, tokens["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == "carol"
    assert me.json()["client_id"] == "post-client"
    assert me.json()["scope"] == "read write"

    # Codes are single use.
    resp = exchange(http, oauth, POST, code)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_client_authentication_method_is_enforced(oauth: OAuthServer, http: httpx.Client) -> None:
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI}
    # Registered client_secret_basic, secret sent in the body.
    code = get_code(oauth, BASIC, "dave")
    body = data | {"code": code, "client_id": BASIC["client_id"]}
    resp = http.post(oauth.token_url, data=body | {"client_secret": BASIC["client_secret"]})
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    # Registered client_secret_post, secret sent with HTTP Basic.
    resp = http.post(oauth.token_url, data=data, auth=(POST["client_id"], POST["client_secret"]))
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    # Wrong secret.
    resp = http.post(oauth.token_url, data=data, auth=(BASIC["client_id"], "wrong"))
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    # The refused attempts did not consume the code.
    resp = exchange(http, oauth, BASIC, code)
    assert resp.status_code == 200, resp.text


def test_lenient_client_authentication(tmp_path: Path, http: httpx.Client) -> None:
    server = start_oauth_server(tmp_path, [BASIC], strict_client_auth=False)
    try:
        code = get_code(server, BASIC, "ivan")
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        body = data | {"client_id": BASIC["client_id"], "client_secret": BASIC["client_secret"]}
        resp = http.post(server.token_url, data=body)
        assert resp.status_code == 200, resp.text
    finally:
        server.stop()


def test_userinfo_needs_openid_scope(oauth: OAuthServer, http: httpx.Client) -> None:
    oauth.reset()
    code = get_code(oauth, BASIC, "erin", "openid read")
    tokens = exchange(http, oauth, BASIC, code).json()
    assert tokens["id_token"]
    resp = http.get(
        oauth.userinfo_url, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"sub": "erin", "email": "erin@example.com", "name": "erin"}

    code = get_code(oauth, BASIC, "erin", "read")
    tokens = exchange(http, oauth, BASIC, code).json()
    resp = http.get(
        oauth.userinfo_url, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    # oidc-provider serves userinfo only to access tokens that carry the openid scope.
    assert resp.status_code == 403
    assert resp.json()["error"] == "insufficient_scope"

    stats = oauth.stats()
    assert stats["userinfo_requests"] == 2
    assert stats["token_requests_by_grant"] == {"authorization_code": 2, "refresh_token": 0}


def test_revoke_refresh(oauth: OAuthServer, http: httpx.Client) -> None:
    frank = exchange(http, oauth, BASIC, get_code(oauth, BASIC, "frank")).json()
    grace = exchange(http, oauth, POST, get_code(oauth, POST, "grace")).json()

    assert oauth.revoke_refresh("frank") == 1
    resp = refresh(http, oauth, BASIC, frank["refresh_token"])
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"

    resp = refresh(http, oauth, POST, grace["refresh_token"])
    assert resp.status_code == 200, resp.text
    assert oauth.revoke_refresh("nobody") == 0


def test_deny_ends_in_access_denied(oauth: OAuthServer) -> None:
    state = secrets.token_urlsafe(8)
    url = authorize_url(oauth, BASIC, "read", state, pkce_pair()[1])
    resp = complete_login(url, "heidi", approve=False)
    assert resp.status_code in (302, 303)
    params = redirect_params(resp)
    assert params["error"] == "access_denied"
    assert params["state"] == state
    assert "code" not in params


def test_unknown_redirect_uri_is_refused(oauth: OAuthServer) -> None:
    params = {
        "response_type": "code",
        "client_id": BASIC["client_id"],
        "redirect_uri": "http://127.0.0.1:9/elsewhere",
        "scope": "read",
    }
    with httpx.Client(timeout=10.0) as client:
        resp = client.get(f"{oauth.authorize_url}?{urlencode(params)}")
    assert resp.status_code == 400
    assert "redirect_uri" in resp.text


def test_server_logs_to_file(oauth: OAuthServer) -> None:
    assert f"READY {oauth.url}" in oauth.log_text()
