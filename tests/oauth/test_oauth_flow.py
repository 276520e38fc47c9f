"""The OAuth flow end to end against a real authorization server (panva's oidc-provider,
started locally): link → authorize → callback → ACTIVE → proxied call → refresh →
revoked → EXPIRED; PKCE, client authentication methods, scopes, user verification,
re-authorization, hostile inputs, and single-flight refresh across two processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.oauth_server import (
    OAuthServer,
    authorize_to_verification,
    complete_login,
    oauth_provider,
    start_oauth_server,
)
from tests.support.proxy import proxy_headers
from tests.support.rawdb import execute
from tests.support.servers import Server

SECRET = "as-client-secret-0123456789"
TTL = 3


@pytest.fixture(scope="module")
def oauth_as(
    server: Server, strict_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OAuthServer]:
    redirects = [f"{server.url}/oauth/callback", f"{strict_server.url}/oauth/callback"]
    clients = [
        {
            "client_id": "ar-basic",
            "client_secret": SECRET,
            "redirect_uris": redirects,
            "token_endpoint_auth_method": "client_secret_basic",
        },
        {
            "client_id": "ar-post",
            "client_secret": SECRET,
            "redirect_uris": redirects,
            "token_endpoint_auth_method": "client_secret_post",
        },
        {
            "client_id": "other-app",
            "client_secret": SECRET,
            "redirect_uris": redirects,
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ]
    as_server = start_oauth_server(tmp_path_factory.mktemp("as"), clients, access_token_ttl=TTL)
    yield as_server
    as_server.stop()


def _connect(
    api: httpx.Client,
    oauth_as: OAuthServer,
    name: str,
    conn: str,
    client_id: str = "ar-post",
    scopes: list[str] | None = None,
    **oauth: Any,
) -> None:
    assert (
        api.post(
            "/api/v1/custom-providers", json=oauth_provider(name, oauth_as, **oauth)
        ).status_code
        == 201
    )
    identifier = "".join(ch for ch in name.lower() if ch.isalnum())
    body = {
        "provider_key": identifier,
        "key_id": conn,
        "oauth_config": {
            "client_id": client_id,
            "client_secret": SECRET,
            "scopes": scopes or ["read"],
        },
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


def _authorize(link: str) -> tuple[str, dict[str, list[str]]]:
    with httpx.Client() as browser:
        response = browser.get(link)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return location, parse_qs(urlsplit(location).query)


def _callback(location: str) -> httpx.Response:
    with httpx.Client() as browser:
        return browser.get(location)


def _account(api: httpx.Client, conn: str, who: str, reveal: bool = False) -> dict[str, Any]:
    path = "/api/v1/connected_accounts/auth" if reveal else "/api/v1/connected_accounts/details"
    return dict(
        api.get(path, params={"connector": conn, "identifier": who}).json()["connected_account"]
    )


def _wait_until_rejected(oauth_as: OAuthServer, token: str) -> None:
    """Bounded wait until the authorization server no longer accepts `token`."""
    deadline = time.monotonic() + 30
    with httpx.Client() as http:
        while time.monotonic() < deadline:
            if (
                http.get(
                    oauth_as.whoami_url, headers={"Authorization": f"Bearer {token}"}
                ).status_code
                == 401
            ):
                return
            time.sleep(0.2)
    raise AssertionError("the access token never expired")


def test_full_flow_with_pkce_refresh_and_revocation(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    conn = f"oa-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            oauth_as,
            f"Flow {unique}",
            conn,
            client_id="ar-basic",
            pkce_enabled=True,
            token_auth_method="client_secret_basic",
        )
        location, params = _authorize(_link(api, conn, "alice"))
        assert location.startswith(oauth_as.authorize_url)
        assert params["response_type"] == ["code"] and params["client_id"] == ["ar-basic"]
        assert params["redirect_uri"] == [f"{server.url}/oauth/callback"]
        assert params["scope"] == ["openid read"]
        assert (
            params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) == 43
        )
        assert len(params["state"][0]) >= 43
        assert _account(api, conn, "alice")["status"] == "PENDING_AUTH"

        back = complete_login(location, "alice")
        callback_url = back.headers["location"]
        assert callback_url.startswith(f"{server.url}/oauth/callback?")
        page = _callback(callback_url)
        assert page.status_code == 200 and "is connected" in page.text
        account = _account(api, conn, "alice")
        assert account["status"] == "ACTIVE" and account["authorization_type"] == "OAUTH"
        token = account["authorization_details"]["oauth_token"]
        assert "access_token" not in token and token["user_info"]["sub"] == "alice"
        assert set(token["scopes"]) >= {"openid", "read"}
        first_token = _account(api, conn, "alice", reveal=True)["authorization_details"][
            "oauth_token"
        ]["access_token"]

        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "alice"))
        assert response.status_code == 200 and response.json()["sub"] == "alice"
        assert response.json()["client_id"] == "ar-basic"

        # the token expires: the proxy refreshes it and uses the new one
        _wait_until_rejected(oauth_as, first_token)
        before = oauth_as.stats()["token_requests_by_grant"].get("refresh_token", 0)
        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "alice"))
        assert response.status_code == 200, response.text
        assert response.json()["token_suffix"] != first_token[-6:]
        assert oauth_as.stats()["token_requests_by_grant"]["refresh_token"] >= before + 1
        second_token = _account(api, conn, "alice", reveal=True)["authorization_details"][
            "oauth_token"
        ]["access_token"]
        assert second_token != first_token

        # the refresh token is revoked: the account expires and the proxy says what to do
        oauth_as.revoke_refresh("alice")
        _wait_until_rejected(oauth_as, second_token)
        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "alice"))
        assert response.status_code == 412, response.text
        assert response.headers["x-authrelay-error"] == "FAILED_PRECONDITION"
        assert (
            "EXPIRED" in response.json()["message"] and "magic_link" in response.json()["message"]
        )
        assert _account(api, conn, "alice")["status"] == "EXPIRED"


def test_without_pkce_post_auth_comma_scopes_and_custom_scope_name(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = f"post-{unique}"
        _connect(
            api,
            oauth_as,
            f"Post {unique}",
            conn,
            client_id="ar-post",
            scopes=["read", "write"],
            token_auth_method="client_secret_post",
        )
        location, params = _authorize(_link(api, conn, "bob"))
        assert "code_challenge" not in params and params["scope"] == ["openid read write"]
        oauth_as.reset()
        assert _callback(complete_login(location, "bob").headers["location"]).status_code == 200
        assert oauth_as.stats()["token_requests_by_grant"]["authorization_code"] == 1
        assert _account(api, conn, "bob")["status"] == "ACTIVE"
        assert (
            api.get("/proxy/api/whoami", headers=proxy_headers(conn, "bob")).json()["client_id"]
            == "ar-post"
        )

        comma = f"comma-{unique}"
        _connect(
            api,
            oauth_as,
            f"Comma {unique}",
            comma,
            scopes=["read", "write"],
            scope_separator=",",
            custom_scope_name="scopes",
            authorization_params={"audience": "api", "prompt": "consent"},
        )
        _, params = _authorize(_link(api, comma, "carol"))
        assert params["scopes"] == ["openid,read,write"] and "scope" not in params
        assert params["audience"] == ["api"] and params["prompt"] == ["consent"]


def test_denied_forged_replayed_and_expired_states(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = f"deny-{unique}"
        _connect(api, oauth_as, f"Deny {unique}", conn)
        location, _ = _authorize(_link(api, conn, "dave"))
        denied = complete_login(location, "dave", approve=False).headers["location"]
        assert "error=access_denied" in denied
        page = _callback(denied)
        assert (
            page.status_code == 400
            and "access_denied" in page.text
            and "Nothing was connected" in page.text
        )
        assert _account(api, conn, "dave")["status"] == "PENDING_AUTH"
        assert _callback(denied).status_code == 410  # the state is single-use

        forged = _callback(f"{server.url}/oauth/callback?code=abc&state=forged-state-value")
        assert forged.status_code == 400 and "does not belong" in forged.text
        assert _callback(f"{server.url}/oauth/callback?code=abc").status_code == 400

        location, _ = _authorize(_link(api, conn, "dave"))
        back = complete_login(location, "dave").headers["location"]
        first = _callback(back)
        assert first.status_code == 200, first.text
        replay = _callback(back)
        assert replay.status_code == 410 and "already used" in replay.text

        location, _ = _authorize(_link(api, conn, "erin"))
        back = complete_login(location, "erin").headers["location"]
        execute(
            server.backend,
            "UPDATE auth_flows SET expires_at = '2000-01-01 00:00:00+00:00' WHERE status = 'OPENED'",
        )
        late = _callback(back)
        assert late.status_code == 410 and "took too long" in late.text
        assert _account(api, conn, "erin")["status"] == "PENDING_AUTH"


def test_code_for_another_client_is_refused(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = f"mix-{unique}"
        _connect(api, oauth_as, f"Mix {unique}", conn)
        location, params = _authorize(_link(api, conn, "frank"))
        # the same user authorizes another app; its code is pasted into our pending flow
        other = location.replace("client_id=ar-post", "client_id=other-app")
        stolen = parse_qs(urlsplit(complete_login(other, "frank").headers["location"]).query)[
            "code"
        ][0]
        page = _callback(f"{server.url}/oauth/callback?code={stolen}&state={params['state'][0]}")
        assert page.status_code == 400 and "failed" in page.text
        assert _account(api, conn, "frank")["status"] == "PENDING_AUTH"


def test_user_verification(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    verify_url = "https://app.example.com/verify?tenant=7"
    with server.api(dev_client) as api:
        conn = f"ver-{unique}"
        _connect(api, oauth_as, f"Verify {unique}", conn)
        location, _ = _authorize(
            _link(api, conn, "gina", user_verify_url=verify_url, state="app-state-1")
        )
        back = complete_login(location, "gina").headers["location"]
        redirect = _callback(back)
        assert redirect.status_code == 303
        target = redirect.headers["location"]
        assert target.startswith("https://app.example.com/verify?tenant=7&")
        query = parse_qs(urlsplit(target).query)
        assert query["state"] == ["app-state-1"] and query["auth_request_id"][0].startswith("flow_")
        assert _account(api, conn, "gina")["status"] == "PENDING_VERIFICATION"
        assert api.get("/proxy/api/whoami", headers=proxy_headers(conn, "gina")).status_code == 412

        wrong = api.post(
            "/api/v1/connected_accounts/user/verify",
            json={"auth_request_id": query["auth_request_id"][0], "identifier": "mallory"},
        )
        assert wrong.status_code == 403
        closed = api.post(
            "/api/v1/connected_accounts/user/verify",
            json={"auth_request_id": query["auth_request_id"][0], "identifier": "gina"},
        )
        assert closed.status_code == 412
        assert _account(api, conn, "gina")["status"] == "PENDING_AUTH"

        _, query = authorize_to_verification(
            _link(api, conn, "gina", user_verify_url=verify_url), "gina"
        )
        request_id = query["auth_request_id"][0]
        ok = api.post(
            "/api/v1/connected_accounts/user/verify",
            json={"auth_request_id": request_id, "identifier": "gina"},
        )
        assert ok.status_code == 200
        done_url = ok.json()["post_user_verify_redirect_url"]
        assert done_url.startswith(server.url)
        assert httpx.get(done_url).status_code == 200
        assert _account(api, conn, "gina")["status"] == "ACTIVE"
        assert (
            api.get("/proxy/api/whoami", headers=proxy_headers(conn, "gina")).json()["sub"]
            == "gina"
        )
        again = api.post(
            "/api/v1/connected_accounts/user/verify",
            json={"auth_request_id": request_id, "identifier": "gina"},
        )
        assert again.status_code == 412


def test_reauthorization_replaces_tokens_only_on_success(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = f"re-{unique}"
        _connect(api, oauth_as, f"Reauth {unique}", conn)
        location, _ = _authorize(_link(api, conn, "hank"))
        assert _callback(complete_login(location, "hank").headers["location"]).status_code == 200
        original = _account(api, conn, "hank", reveal=True)["authorization_details"]["oauth_token"]
        location, _ = _authorize(_link(api, conn, "hank"))
        assert (
            _callback(
                complete_login(location, "hank", approve=False).headers["location"]
            ).status_code
            == 400
        )
        after_denial = _account(api, conn, "hank", reveal=True)
        assert after_denial["status"] == "ACTIVE"
        assert after_denial["authorization_details"]["oauth_token"] == original
        location, _ = _authorize(_link(api, conn, "hank"))
        assert _callback(complete_login(location, "hank").headers["location"]).status_code == 200
        replaced = _account(api, conn, "hank", reveal=True)["authorization_details"]["oauth_token"]
        assert replaced["access_token"] != original["access_token"]


def test_single_flight_refresh_across_two_processes(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    oauth_as: OAuthServer,
    unique: str,
) -> None:
    conn = f"sf-{unique}"
    with server.api(dev_client) as api:
        _connect(api, oauth_as, f"Single {unique}", conn)
        location, _ = _authorize(_link(api, conn, "ivy"))
        assert _callback(complete_login(location, "ivy").headers["location"]).status_code == 200
        token = _account(api, conn, "ivy", reveal=True)["authorization_details"]["oauth_token"][
            "access_token"
        ]
    _wait_until_rejected(oauth_as, token)
    oauth_as.reset()
    tokens = {s.url: s.token(dev_client) for s in (server, strict_server)}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            calls = [
                http.get(
                    f"{url}/proxy/api/whoami",
                    headers={
                        "Authorization": f"Bearer {tokens[url]}",
                        **proxy_headers(conn, "ivy"),
                    },
                )
                for _ in range(25)
                for url in tokens
            ]
            return await asyncio.gather(*calls)

    responses = asyncio.run(burst())
    assert len(responses) == 50
    assert [r.status_code for r in responses] == [200] * 50, {
        r.text for r in responses if r.status_code != 200
    }
    stats = oauth_as.stats()
    assert stats["token_requests_by_grant"].get("refresh_token", 0) == 1, stats
    assert len({r.json()["token_suffix"] for r in responses}) == 1


def test_upstream_401_refreshes_once_and_retries(
    server: Server, dev_client: dict[str, str], oauth_as: OAuthServer, unique: str
) -> None:
    """Imported tokens have no known expiry: a 401 from the upstream triggers one refresh
    and one retry; the rotated refresh token is stored."""
    with server.api(dev_client) as api:
        conn = f"r401-{unique}"
        _connect(api, oauth_as, f"Retry {unique}", conn)
        location, _ = _authorize(_link(api, conn, "jack"))
        assert _callback(complete_login(location, "jack").headers["location"]).status_code == 200
        issued = _account(api, conn, "jack", reveal=True)["authorization_details"]["oauth_token"]
        # a second account imports a dead access token with the live refresh token
        response = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "jack",
                "connected_account": {
                    "authorization_details": {
                        "oauth_token": {
                            "access_token": "no-longer-valid",
                            "refresh_token": issued["refresh_token"],
                        }
                    }
                },
            },
        )
        assert response.status_code == 200, response.text
        oauth_as.reset()
        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "jack"))
        assert response.status_code == 200, response.text
        assert response.json()["sub"] == "jack"
        stats = oauth_as.stats()
        assert (
            stats["token_requests"] == 1 and stats["token_requests_by_grant"]["refresh_token"] == 1
        )
        stored = _account(api, conn, "jack", reveal=True)["authorization_details"]["oauth_token"]
        assert stored["refresh_token"] != issued["refresh_token"]  # rotated by the server
        assert stored["access_token"] != "no-longer-valid"


def test_token_endpoint_answering_html(
    server: Server, dev_client: dict[str, str], upstream: Any, oauth_as: OAuthServer, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = f"html-{unique}"
        _connect(api, oauth_as, f"Html {unique}", conn, token_uri=f"{upstream.url}/token/html")
        _, params = _authorize(_link(api, conn, "kim"))
        page = _callback(f"{server.url}/oauth/callback?code=whatever&state={params['state'][0]}")
        assert page.status_code == 400 and "not JSON" in page.text
        account = _account(api, conn, "kim")
        assert account["status"] == "PENDING_AUTH" and "access_token" not in str(account)
