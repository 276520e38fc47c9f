"""The OAuth client-credentials grant end to end (SPEC §3a), against a real authorization
server (panva's oidc-provider with the client_credentials grant on) and real upstreams:
definition -> connection -> account (hosted form or API) -> proxied call; the token is
fetched on first use, renewed before expiry and after a 401, once across two processes;
refused credentials expire the account with the server's answer named; secrets stay out of
logs, lists, errors and the audit log."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.oauth_server import OAuthServer, start_oauth_server
from tests.support.proxy import proxy_headers
from tests.support.rawdb import raw_bytes
from tests.support.servers import Server, free_port
from tests.support.upstream import RecordingUpstream

ACCOUNT_SECRET = "cc-account-secret-PLANTED-7f3a9"
CONNECTION_SECRET = "cc-connection-secret-PLANTED-91bd"
SHORT_TTL = 6


def _clients() -> list[dict[str, Any]]:
    common = {"grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}
    return [
        {
            "client_id": "cc-basic",
            "client_secret": ACCOUNT_SECRET,
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "read write",
            **common,
        },
        {
            "client_id": "cc-post",
            "client_secret": CONNECTION_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            "scope": "read write",
            **common,
        },
    ]


@pytest.fixture(scope="module")
def cc_as(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    server = start_oauth_server(tmp_path_factory.mktemp("cc-as"), _clients())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def short_as(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    server = start_oauth_server(
        tmp_path_factory.mktemp("cc-short"), _clients(), access_token_ttl=SHORT_TTL
    )
    yield server
    server.stop()


def _per_account(name: str, token_uri: str, proxy_url: str, **oauth: Any) -> dict[str, Any]:
    """Each account brings its own API client (client_id / client_secret fields)."""
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [
                    {"field_name": "client_id", "label": "Client ID", "required": True},
                    {
                        "field_name": "client_secret",
                        "label": "Client secret",
                        "input_type": "password",
                        "required": True,
                    },
                    {"field_name": "tenant", "label": "Tenant", "required": True},
                ],
                "oauth_config": {
                    "grant_type": "client_credentials",
                    "token_uri": token_uri,
                    "token_auth_method": "client_secret_basic",
                    "available_scopes": [{"scope": "read"}, {"scope": "write"}],
                    "token_params": {"audience": "api-{{tenant}}"},
                    **oauth,
                },
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def _shared(name: str, token_uri: str, proxy_url: str) -> dict[str, Any]:
    """One API client for the whole connection: accounts have no inputs."""
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "oauth_config": {
                    "grant_type": "client_credentials",
                    "token_uri": token_uri,
                    "available_scopes": [{"scope": "read", "required": True}, {"scope": "write"}],
                },
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def _ident(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _connect(
    api: httpx.Client, definition: dict[str, Any], conn: str, oauth: dict[str, Any]
) -> None:
    response = api.post("/api/v1/custom-providers", json=definition)
    assert response.status_code == 201, response.text
    body = {"provider_key": _ident(definition["display_name"]), "key_id": conn}
    response = api.post("/api/v1/connections", json={**body, "oauth_config": oauth})
    assert response.status_code == 201, response.text


def _create(api: httpx.Client, conn: str, who: str, details: dict[str, Any]) -> httpx.Response:
    return api.post(
        "/api/v1/connected_accounts",
        json={
            "connector": conn,
            "identifier": who,
            "connected_account": {"authorization_details": {"static_auth": {"details": details}}},
        },
    )


def _account(api: httpx.Client, conn: str, who: str, reveal: bool = False) -> dict[str, Any]:
    path = "/api/v1/connected_accounts/auth" if reveal else "/api/v1/connected_accounts/details"
    response = api.get(path, params={"connector": conn, "identifier": who})
    assert response.status_code == 200, response.text
    return dict(response.json()["connected_account"])


def _cc_requests(oauth_as: OAuthServer) -> int:
    return int(oauth_as.stats()["token_requests_by_grant"].get("client_credentials", 0))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_per_account_client_through_the_hosted_form(
    server: Server, dev_client: dict[str, str], cc_as: OAuthServer, unique: str
) -> None:
    conn = f"ccform-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _per_account(f"CC Form {unique}", cc_as.token_url, cc_as.url),
            conn,
            {"scopes": ["read"]},
        )
        listed = api.get("/api/v1/connections/app", params={"provider": f"ccform{unique}"})
        [connection] = listed.json()["connections"]
        assert connection["status"] == "COMPLETED"  # no client on the connection is needed
        link = api.post(
            "/api/v1/connected_accounts/magic_link", json={"connector": conn, "identifier": "ann"}
        )
        assert link.status_code == 200, link.text
        with httpx.Client() as browser:
            page = browser.get(link.json()["link"])
            assert page.status_code == 200, page.text  # a form, not a redirect
            assert 'name="client_id"' in page.text and 'name="tenant"' in page.text
            assert 'type="password"' in page.text
            action = re.search(r'action="([^"]+)"', page.text)
            assert action
            done = browser.post(
                f"{server.url}{action.group(1)}",
                data={
                    "csrf_token": _csrf(page.text),
                    "client_id": "cc-basic",
                    "client_secret": ACCOUNT_SECRET,
                    "tenant": "acme",
                },
            )
            assert done.status_code == 200, done.text
        account = _account(api, conn, "ann")
        assert account["status"] == "ACTIVE" and account["authorization_type"] == "OAUTH"
        assert account["authorization_details"]["static_auth"]["details"] == {
            "client_id": "cc-basic",
            "tenant": "acme",
        }
        assert ACCOUNT_SECRET not in str(account)

        cc_as.reset()
        first = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "ann"))
        assert first.status_code == 200, first.text
        assert first.json()["client_id"] == "cc-basic" and first.json()["scope"] == "read"
        stats = cc_as.stats()
        assert stats["token_requests_by_grant"]["client_credentials"] == 1
        sent = stats["last_token_params"]
        assert sent["grant_type"] == "client_credentials"
        assert sent["scope"] == "read" and sent["audience"] == "api-acme"
        assert "client_id" not in sent  # client_secret_basic: the client is in the header
        second = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "ann"))
        assert second.status_code == 200
        assert second.json()["token_suffix"] == first.json()["token_suffix"]
        assert _cc_requests(cc_as) == 1  # the stored token is reused
        revealed = _account(api, conn, "ann", reveal=True)["authorization_details"]
        assert revealed["oauth_token"]["access_token"].endswith(first.json()["token_suffix"])
        assert revealed["oauth_token"]["scopes"] == ["read"]
        assert revealed["static_auth"]["details"]["client_secret"] == ACCOUNT_SECRET


def test_connection_client_via_the_api_and_a_recording_upstream(
    server: Server,
    dev_client: dict[str, str],
    cc_as: OAuthServer,
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    conn = f"ccapi-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _shared(f"CC Api {unique}", cc_as.token_url, f"{upstream.url}/api"),
            conn,
            {
                "client_id": "cc-post",
                "client_secret": CONNECTION_SECRET,
                "scopes": ["write"],
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
        created = _create(api, conn, "svc", {})
        assert created.status_code == 201, created.text
        assert created.json()["connected_account"]["status"] == "ACTIVE"
        cc_as.reset()
        upstream.clear()
        response = api.get("/proxy/items?page=2", headers=proxy_headers(conn, "svc"))
        assert response.status_code == 200, response.text
        recorded = upstream.requests[-1]
        assert recorded.raw_path == "/api/items?page=2"
        token = _account(api, conn, "svc", reveal=True)["authorization_details"]["oauth_token"]
        assert recorded.header("Authorization") == f"Bearer {token['access_token']}"
        assert sorted(token["scopes"]) == ["read", "write"]  # required scope always included
        sent = cc_as.stats()["last_token_params"]
        assert sent["client_id"] == "cc-post" and sent["scope"] == "read write"
        # the token is a real one: the authorization server accepts it
        check = httpx.get(
            cc_as.whoami_url, headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert check.status_code == 200 and check.json()["client_id"] == "cc-post"


def test_renewed_after_upstream_401(
    server: Server,
    dev_client: dict[str, str],
    cc_as: OAuthServer,
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    conn = f"cc401-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _shared(f"CC Retry {unique}", cc_as.token_url, f"{upstream.url}/api"),
            conn,
            {"client_id": "cc-post", "client_secret": CONNECTION_SECRET, "scopes": []},
        )
        assert _create(api, conn, "svc", {}).status_code == 201
        assert api.get("/proxy/ok", headers=proxy_headers(conn, "svc")).status_code == 200
        before = _account(api, conn, "svc", reveal=True)["authorization_details"]["oauth_token"]
        cc_as.reset()
        upstream.clear()
        response = api.get("/proxy/status/401", headers=proxy_headers(conn, "svc"))
        assert response.status_code == 401  # the upstream's answer to the retry
        sent = [r.header("Authorization") for r in upstream.requests]
        assert len(sent) == 2 and sent[0] == f"Bearer {before['access_token']}"
        assert sent[1] != sent[0]
        assert _cc_requests(cc_as) == 1
        after = _account(api, conn, "svc", reveal=True)["authorization_details"]["oauth_token"]
        assert sent[1] == f"Bearer {after['access_token']}"


def test_tool_call_renewed_after_upstream_401(
    server: Server,
    dev_client: dict[str, str],
    cc_as: OAuthServer,
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """A tool call goes through the proxy's send path: a 401 renews the token once and the
    call is sent once more with the new one."""
    conn = f"cctool-{unique}"
    name = f"CC Tool {unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _shared(name, cc_as.token_url, f"{upstream.url}/api"),
            conn,
            {"client_id": "cc-post", "client_secret": CONNECTION_SECRET, "scopes": []},
        )
        assert _create(api, conn, "svc", {}).status_code == 201
        tool = {
            "provider": _ident(name),
            "definition": {
                "name": f"status_{unique}",
                "description": "Answer with a status",
                "input_schema": {"type": "object", "properties": {}},
                "annotations": {"read_only_hint": True},
            },
            "binding": {"method": "GET", "path": "/status/401", "params": {}},
        }
        created = api.post("/api/v1/tools", json=tool)
        assert created.status_code == 201, created.text
        assert api.get("/proxy/ok", headers=proxy_headers(conn, "svc")).status_code == 200
        before = _account(api, conn, "svc", reveal=True)["authorization_details"]["oauth_token"]
        cc_as.reset()
        upstream.clear()
        call = {"tool_name": f"status_{unique}", "params": {}, "identifier": "svc"}
        response = api.post("/api/v1/execute_tool", json={**call, "connector": conn})
        assert response.status_code == 401, response.text  # the upstream's answer to the retry
        sent = [r.header("Authorization") for r in upstream.requests]
        assert len(sent) == 2 and sent[0] == f"Bearer {before['access_token']}"
        assert _cc_requests(cc_as) == 1
        after = _account(api, conn, "svc", reveal=True)["authorization_details"]["oauth_token"]
        assert sent[1] == f"Bearer {after['access_token']}" != sent[0]


def test_renewed_before_expiry(
    server: Server,
    dev_client: dict[str, str],
    short_as: OAuthServer,
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """Calls keep going until the token sent upstream changes: the upstream never saw a
    401-and-retry, and the old token still worked when the new one was fetched."""
    conn = f"ccexp-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _per_account(f"CC Expiry {unique}", short_as.token_url, f"{upstream.url}/api"),
            conn,
            {"scopes": ["read"]},
        )
        details = {"client_id": "cc-basic", "client_secret": ACCOUNT_SECRET, "tenant": "t1"}
        assert _create(api, conn, "bob", details).status_code == 201
        short_as.reset()
        upstream.clear()
        sent: list[str | None] = []
        for _ in range(100):  # bounded: the token lives SHORT_TTL seconds
            response = api.get("/proxy/tick", headers=proxy_headers(conn, "bob"))
            assert response.status_code == 200, response.text
            sent.append(upstream.requests[-1].header("Authorization"))
            if sent[-1] != sent[0]:
                break
            time.sleep(0.2)
        old, new = sent[0], sent[-1]
        assert old is not None and new is not None and new != old
        still_valid = httpx.get(short_as.whoami_url, headers={"Authorization": old})
        assert still_valid.status_code == 200, "renewed only after the old token had expired"
        assert len(upstream.requests) == len(sent)  # one upstream request per call: no retry
        assert _cc_requests(short_as) == 2
        token = _account(api, conn, "bob", reveal=True)["authorization_details"]["oauth_token"]
        assert new == f"Bearer {token['access_token']}"


def test_two_processes_first_calls_make_one_token_request(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    cc_as: OAuthServer,
    unique: str,
) -> None:
    conn = f"ccsf-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _per_account(f"CC Flight {unique}", cc_as.token_url, cc_as.url),
            conn,
            {"scopes": ["read"]},
        )
        details = {"client_id": "cc-basic", "client_secret": ACCOUNT_SECRET, "tenant": "t2"}
        assert _create(api, conn, "cid", details).status_code == 201
    cc_as.reset()
    tokens = {s.url: s.token(dev_client) for s in (server, strict_server)}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            calls = [
                http.get(
                    f"{url}/proxy/api/whoami",
                    headers={
                        "Authorization": f"Bearer {tokens[url]}",
                        **proxy_headers(conn, "cid"),
                    },
                )
                for _ in range(15)
                for url in tokens
            ]
            return await asyncio.gather(*calls)

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 30, {r.text for r in responses}
    assert _cc_requests(cc_as) == 1
    assert len({r.json()["token_suffix"] for r in responses}) == 1


def test_refused_credentials_expire_the_account_and_name_the_answer(
    server: Server, dev_client: dict[str, str], cc_as: OAuthServer, unique: str
) -> None:
    wrong = "wrong-secret-PLANTED-5e11"
    conn = f"ccbad-{unique}"
    with server.api(dev_client) as api:
        _connect(
            api,
            _per_account(f"CC Refused {unique}", cc_as.token_url, cc_as.url),
            conn,
            {"scopes": ["read"]},
        )
        details = {"client_id": "cc-basic", "client_secret": wrong, "tenant": "t3"}
        assert _create(api, conn, "eve", details).status_code == 201
        response = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "eve"))
        assert response.status_code == 412, response.text
        body = response.json()
        assert response.headers["x-authrelay-error"] == "FAILED_PRECONDITION"
        assert "invalid_client" in body["message"] and "EXPIRED" in body["message"]
        assert wrong not in response.text
        assert _account(api, conn, "eve")["status"] == "EXPIRED"
        again = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "eve"))
        assert again.status_code == 412 and "EXPIRED" in again.json()["message"]
        # new credentials make it ACTIVE again, and the next call gets a token
        fixed = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "eve",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"client_secret": ACCOUNT_SECRET}}
                    }
                },
            },
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["connected_account"]["status"] == "ACTIVE"
        ok = api.get("/proxy/api/whoami", headers=proxy_headers(conn, "eve"))
        assert ok.status_code == 200, ok.text
        assert ok.json()["client_id"] == "cc-basic"

        # the connection's client refused: the account stays ACTIVE (fix the connection)
        shared = f"ccbadc-{unique}"
        _connect(
            api,
            _shared(f"CC Refused Conn {unique}", cc_as.token_url, cc_as.url),
            shared,
            {"client_id": "cc-post", "client_secret": wrong, "scopes": []},
        )
        assert _create(api, shared, "svc", {}).status_code == 201
        response = api.get("/proxy/api/whoami", headers=proxy_headers(shared, "svc"))
        assert response.status_code == 412, response.text
        assert "invalid_client" in response.json()["message"]
        assert shared in response.json()["message"] and wrong not in response.text
        assert _account(api, shared, "svc")["status"] == "ACTIVE"
    assert wrong not in server.log_text()


class _EchoingTokenEndpoint:
    """A hostile token endpoint: 400 with the posted client secret in its description
    (once), then 503 with HTML; counts the requests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.count += 1
        if self.count == 1:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": f"secret {form.get('client_secret')} is\r\nnot known",
                },
                status=400,
            )
        return web.Response(status=503, text="<html>down</html>", content_type="text/html")

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/token", self._token)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)


def test_secrets_never_leak(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    echo = _EchoingTokenEndpoint()
    echo.start()
    try:
        token_uri = f"http://127.0.0.1:{echo.port}/token"
        conn = f"ccleak-{unique}"
        with server.api(dev_client) as api:
            _connect(
                api,
                _per_account(
                    f"CC Leak {unique}",
                    token_uri,
                    f"{upstream.url}/api",
                    token_auth_method="client_secret_post",
                ),
                conn,
                {"scopes": []},
            )
            details = {"client_id": "leaky", "client_secret": ACCOUNT_SECRET, "tenant": "t4"}
            assert _create(api, conn, "mo", details).status_code == 201
            refused = api.get("/proxy/x", headers=proxy_headers(conn, "mo"))
            assert refused.status_code == 412, refused.text
            assert "[redacted]" in refused.text and "invalid_client" in refused.text
            # a token endpoint that is down: 502, the account is kept as it is
            fixed = api.put(
                "/api/v1/connected_accounts",
                json={
                    "connector": conn,
                    "identifier": "mo",
                    "connected_account": {
                        "authorization_details": {
                            "static_auth": {"details": {"client_secret": ACCOUNT_SECRET}}
                        }
                    },
                },
            )
            assert fixed.status_code == 200
            down = api.get("/proxy/x", headers=proxy_headers(conn, "mo"))
            assert down.status_code == 502, down.text
            assert "not JSON" in down.json()["message"]
            assert _account(api, conn, "mo")["status"] == "ACTIVE"

            shared = f"ccleakc-{unique}"
            _connect(
                api,
                _shared(f"CC Leak Conn {unique}", token_uri, f"{upstream.url}/api"),
                shared,
                {"client_id": "leaky", "client_secret": CONNECTION_SECRET, "scopes": []},
            )
            assert _create(api, shared, "svc", {}).status_code == 201
            seen = [
                refused.text,
                down.text,
                api.get("/api/v1/connected_accounts", params={"connector": conn}).text,
                api.get(
                    "/api/v1/connected_accounts/details",
                    params={"connector": conn, "identifier": "mo"},
                ).text,
                api.get("/api/v1/connections/app").text,
                api.get("/api/v1/audit-logs", params={"page_size": 100}).text,
            ]
        for text in seen:
            assert ACCOUNT_SECRET not in text and CONNECTION_SECRET not in text
        log = server.log_text()
        assert ACCOUNT_SECRET not in log and CONNECTION_SECRET not in log
        stored = raw_bytes(server.backend)
        assert ACCOUNT_SECRET.encode() not in stored and CONNECTION_SECRET.encode() not in stored
    finally:
        echo.stop()
