"""An OAuth flow whose authorize, token and user-info URLs hold a host-label placeholder
(SPEC §3a), against the real authorization server (panva's oidc-provider on loopback): the
tenant comes with the magic link (`api_config`) or from the hosted page before the redirect;
the filled host must be in the allow-list over http://; `authorization_params` sets
`response_type` and adds to the scopes of the authorize request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.oauth_server import OAuthServer, complete_login, start_oauth_server
from tests.support.proxy import proxy_headers
from tests.support.servers import Server

SECRET = "hl-client-secret-0123456789"


@pytest.fixture(scope="module")
def oauth_as(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    clients = [
        {
            "client_id": "hl-app",
            "client_secret": SECRET,
            "redirect_uris": [f"{server.url}/oauth/callback"],
            "token_endpoint_auth_method": "client_secret_post",
        }
    ]
    as_server = start_oauth_server(tmp_path_factory.mktemp("hl-as"), clients)
    yield as_server
    as_server.stop()


def _templated(url: str) -> str:
    """The authorization server's URL with its host as a {{tenant}} placeholder."""
    parts = urlsplit(url)
    return url.replace(f"//{parts.hostname}:", "//{{tenant}}:", 1)


def _connect(api: httpx.Client, oauth_as: OAuthServer, name: str, conn: str) -> None:
    definition: dict[str, Any] = {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "account_fields": [
                    {"field_name": "tenant", "label": "Tenant", "hint": "e.g. acme"}
                ],
                "oauth_config": {
                    "authorize_uri": _templated(oauth_as.authorize_url),
                    "token_uri": _templated(oauth_as.token_url),
                    "user_info_uri": _templated(oauth_as.userinfo_url),
                    "available_scopes": [{"scope": "openid"}, {"scope": "read"}],
                    "authorization_params": {"response_type": "code", "scope": "write openid"},
                },
            }
        ],
        "proxy_url": _templated(oauth_as.url + "/api"),
        "proxy_enabled": True,
    }
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    identifier = created.json()["provider"]["identifier"]
    body = {
        "provider_key": identifier,
        "key_id": conn,
        "oauth_config": {"client_id": "hl-app", "client_secret": SECRET, "scopes": ["read"]},
    }
    response = api.post("/api/v1/connections", json=body)
    assert response.status_code == 201, response.text


def _link(api: httpx.Client, conn: str, who: str, **extra: Any) -> str:
    response = api.post(
        "/api/v1/connected_accounts/magic_link",
        json={"connector": conn, "identifier": who, **extra},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["link"])


def _account(api: httpx.Client, conn: str, who: str) -> dict[str, Any]:
    response = api.get(
        "/api/v1/connected_accounts/auth", params={"connector": conn, "identifier": who}
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["connected_account"])


def _finish(location: str, who: str) -> None:
    back = complete_login(location, who)
    callback = back.headers["location"]
    with httpx.Client() as browser:
        page = browser.get(callback)
    assert page.status_code == 200 and "is connected" in page.text, page.text


def test_tenant_given_with_the_link(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    conn = f"hl-link-{unique}"
    with server.api(dev_client) as api:
        _connect(api, oauth_as, f"HL Link {unique}", conn)
        before = oauth_as.stats()["token_requests_by_grant"].get("authorization_code", 0)
        link = _link(api, conn, "alice", api_config={"tenant": "localhost"})
        # the account keeps what it had until the authorization succeeds
        assert not (_account(api, conn, "alice").get("api_config") or {}).get("tenant")
        with httpx.Client() as browser:
            response = browser.get(link)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        port = urlsplit(oauth_as.url).port
        assert location.startswith(f"http://localhost:{port}/")
        params = parse_qs(urlsplit(location).query)
        # authorization_params: response_type sent as given, scope merged into the request
        assert params["response_type"] == ["code"]
        assert params["scope"] == ["read write openid"]
        assert params["client_id"] == ["hl-app"]

        _finish(location, "alice")
        account = _account(api, conn, "alice")
        assert account["status"] == "ACTIVE"
        assert account["api_config"]["tenant"] == "localhost"
        token = account["authorization_details"]["oauth_token"]
        assert set(token["scopes"]) >= {"openid", "read", "write"}
        assert token["user_info"]["sub"] == "alice"  # user_info_uri reached via the tenant
        after = oauth_as.stats()["token_requests_by_grant"]["authorization_code"]
        assert after == before + 1

        response = api.get("/proxy/whoami", headers=proxy_headers(conn, "alice"))
        assert response.status_code == 200, response.text
        assert response.json()["sub"] == "alice"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_hosted_page_asks_for_the_tenant_before_the_redirect(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    conn = f"hl-ask-{unique}"
    with server.api(dev_client) as api:
        _connect(api, oauth_as, f"HL Ask {unique}", conn)
        link = _link(api, conn, "bob")
    with httpx.Client() as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        assert 'name="tenant"' in page.text and "e.g. acme" in page.text
        assert 'type="password"' not in page.text
        csrf = _csrf(page.text)
        action = re.search(r'action="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert browser.get(link).status_code == 410  # the link is used once
        for hostile in ["evil.com", "a@b", "x:1", "..", "a#b", "a\r\nb", ""]:
            bad = browser.post(server.url + action, data={"csrf_token": csrf, "tenant": hostile})
            assert bad.status_code == 400, (hostile, bad.text)
            assert 'aria-invalid="true"' in bad.text
        with httpx.Client() as other:  # CSRF: no cookie, no redirect
            forged = other.post(server.url + action, data={"csrf_token": csrf, "tenant": "x"})
            assert forged.status_code == 403
        ok = browser.post(server.url + action, data={"csrf_token": csrf, "tenant": "localhost"})
        assert ok.status_code == 303, ok.text
        location = ok.headers["location"]
        assert location.startswith(f"http://localhost:{urlsplit(oauth_as.url).port}/")
        again = browser.post(server.url + action, data={"csrf_token": csrf, "tenant": "other"})
        assert again.status_code == 410  # the form is used once
    _finish(location, "bob")
    with server.api(dev_client) as api:
        account = _account(api, conn, "bob")
        assert account["status"] == "ACTIVE" and account["api_config"]["tenant"] == "localhost"
        response = api.get("/proxy/whoami", headers=proxy_headers(conn, "bob"))
        assert response.status_code == 200 and response.json()["sub"] == "bob"


def test_a_tenant_outside_the_allowlist_never_reaches_the_redirect(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    conn = f"hl-out-{unique}"
    with server.api(dev_client) as api:
        _connect(api, oauth_as, f"HL Out {unique}", conn)
        # "vm" is one valid label (it even resolves to loopback here) but over http:// the
        # filled host must be in the allow-list, which names only localhost and 127.0.0.0/8
        link = _link(api, conn, "carol", api_config={"tenant": "vm"})
        bad = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": conn, "identifier": "carol", "api_config": {"region": "eu"}},
        )
        assert bad.status_code == 400
        assert bad.json()["details"][0]["field_violations"][0]["field"] == "api_config.region"
    with httpx.Client() as browser:
        page = browser.get(link)
    assert page.status_code == 409 and "allow-list" in page.text, page.text
    assert "location" not in page.headers
