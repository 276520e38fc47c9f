"""OAuth's outbound requests pass the same network guard as the proxy (issue 24, SSRF): on a
server whose allow-list names no loopback address (only the host name `localhost`), a
token endpoint or user-info endpoint written as a loopback IP literal (`127.0.0.1`,
`[::1]`) is refused for the client-credentials grant, the refresh, the code exchange at
`/oauth/callback` and the user-info request, without anything reaching the port: a
listener there records every connection it accepts. The same definitions on the suite's
server, whose allow-list names loopback, do reach it (so the listener would see them)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.listener import CountingListener
from tests.support.proxy import proxy_headers
from tests.support.servers import Server, start_server
from tests.support.upstream import RecordingUpstream

REFUSED = "is refused by the upstream allow-list or could not be reached"


@pytest.fixture(scope="module")
def names_only(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on the same store whose allow-list names `localhost` and no address."""
    srv = start_server(
        server.backend,
        tmp_path_factory.mktemp("names-only"),
        AUTHRELAY_UPSTREAM_ALLOWLIST="localhost",
    )
    yield srv
    srv.stop()


@pytest.fixture(params=["127.0.0.1", "::1"])
def listener(request: pytest.FixtureRequest) -> Iterator[CountingListener]:
    started = CountingListener(str(request.param)).start()
    yield started
    started.stop()


class _TokenHandler(BaseHTTPRequestHandler):
    """A token endpoint that issues a token to anyone (for the user-info step)."""

    requests: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        type(self).requests.append(self.rfile.read(length).decode())
        body = json.dumps({"access_token": "at-issued", "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def token_endpoint() -> Iterator[tuple[int, list[str]]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1]), _TokenHandler.requests
    httpd.shutdown()
    httpd.server_close()


def _oauth(name: str, proxy_url: str, **config: Any) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "fields": [],
                "oauth_config": {"available_scopes": [{"scope": "read"}], **config},
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def _connection(api: httpx.Client, definition: dict[str, Any], conn: str) -> None:
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    body = {
        "provider_key": created.json()["provider"]["identifier"],
        "key_id": conn,
        "oauth_config": {"client_id": "app", "client_secret": "app-secret", "scopes": ["read"]},
    }
    response = api.post("/api/v1/connections", json=body)
    assert response.status_code == 201, response.text


def _account(api: httpx.Client, conn: str, who: str) -> dict[str, Any]:
    response = api.get(
        "/api/v1/connected_accounts/auth", params={"connector": conn, "identifier": who}
    )
    return dict(response.json()["connected_account"])


def test_client_credentials_token_request_to_a_loopback_literal_is_refused(
    server: Server,
    names_only: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    listener: CountingListener,
    unique: str,
) -> None:
    conn = f"ssrf-cc-{unique}"
    definition = _oauth(
        f"Ssrf Cc {unique}",
        f"http://localhost:{upstream.port}/api",
        grant_type="client_credentials",
        token_uri=f"https://{listener.netloc}/token",
    )
    with server.api(dev_client) as api:
        _connection(api, definition, conn)
        created = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "svc",
                "connected_account": {"authorization_details": {"static_auth": {"details": {}}}},
            },
        )
        assert created.status_code == 201, created.text
    with names_only.api(dev_client) as api:
        response = api.get("/proxy/items", headers=proxy_headers(conn, "svc"))
        assert response.status_code == 502, response.text
        assert f"the token endpoint {REFUSED}" in response.json()["message"]
        assert "app-secret" not in response.text
    assert listener.received == []
    # where loopback is allow-listed the same request reaches the port
    with server.api(dev_client) as api:
        api.get("/proxy/items", headers=proxy_headers(conn, "svc"))
    assert len(listener.received) >= 1


def test_refresh_at_a_loopback_literal_is_refused(
    server: Server,
    names_only: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    listener: CountingListener,
    unique: str,
) -> None:
    conn = f"ssrf-rt-{unique}"
    definition = _oauth(
        f"Ssrf Rt {unique}",
        f"http://localhost:{upstream.port}/api",
        authorize_uri="https://auth.example.com/authorize",
        token_uri=f"https://{listener.netloc}/token",
    )
    with server.api(dev_client) as api:
        _connection(api, definition, conn)
        token = {"access_token": "at-1", "refresh_token": "rt-1"}
        created = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "ann",
                "connected_account": {"authorization_details": {"oauth_token": token}},
            },
        )
        assert created.status_code == 201, created.text
    with names_only.api(dev_client) as api:
        # the upstream (reached by its name) answers 401: the proxy refreshes the token
        response = api.get("/proxy/status/401", headers=proxy_headers(conn, "ann"))
        assert response.status_code == 502, response.text
        assert f"the token endpoint {REFUSED}" in response.json()["message"]
        assert _account(api, conn, "ann")["status"] == "ACTIVE"
    assert any(r.raw_path == "/api/status/401" for r in upstream.requests)
    assert listener.received == []
    with server.api(dev_client) as api:
        api.get("/proxy/status/401", headers=proxy_headers(conn, "ann"))
    assert len(listener.received) >= 1


def _authorized(api: httpx.Client, names_only: Server, conn: str, who: str) -> str:
    """The `state` of a flow opened on `names_only` (the browser is never sent anywhere)."""
    link = api.post(
        "/api/v1/connected_accounts/magic_link", json={"connector": conn, "identifier": who}
    )
    assert link.status_code == 200, link.text
    path = urlsplit(link.json()["link"]).path
    with httpx.Client() as browser:
        opened = browser.get(f"{names_only.url}{path}")
    assert opened.status_code == 303, opened.text
    return parse_qs(urlsplit(opened.headers["location"]).query)["state"][0]


def test_code_exchange_at_a_loopback_literal_is_refused(
    server: Server,
    names_only: Server,
    dev_client: dict[str, str],
    listener: CountingListener,
    unique: str,
) -> None:
    conn = f"ssrf-cx-{unique}"
    definition = _oauth(
        f"Ssrf Cx {unique}",
        "https://api.example.com",
        authorize_uri="https://auth.example.com/authorize",
        token_uri=f"https://{listener.netloc}/token",
    )
    with server.api(dev_client) as api:
        _connection(api, definition, conn)
    with names_only.api(dev_client) as api:
        state = _authorized(api, names_only, conn, "bea")
        with httpx.Client() as browser:
            page = browser.get(f"{names_only.url}/oauth/callback?code=c-1&state={state}")
        assert page.status_code == 400, page.text
        assert REFUSED in page.text
        assert _account(api, conn, "bea")["status"] == "PENDING_AUTH"
    assert listener.received == []


def test_user_info_at_a_loopback_literal_is_not_requested(
    server: Server,
    names_only: Server,
    dev_client: dict[str, str],
    listener: CountingListener,
    token_endpoint: tuple[int, list[str]],
    unique: str,
) -> None:
    """The code exchange (at a token endpoint reached by name) succeeds; the user-info
    request at a loopback literal is refused, which is never fatal."""
    port, token_requests = token_endpoint
    before = len(token_requests)
    conn = f"ssrf-ui-{unique}"
    definition = _oauth(
        f"Ssrf Ui {unique}",
        "https://api.example.com",
        authorize_uri="https://auth.example.com/authorize",
        token_uri=f"http://localhost:{port}/token",
        user_info_uri=f"https://{listener.netloc}/me",
    )
    with server.api(dev_client) as api:
        _connection(api, definition, conn)
    with names_only.api(dev_client) as api:
        state = _authorized(api, names_only, conn, "cy")
        with httpx.Client() as browser:
            page = browser.get(f"{names_only.url}/oauth/callback?code=c-2&state={state}")
        assert page.status_code == 200, page.text
        account = _account(api, conn, "cy")
        assert account["status"] == "ACTIVE"
        assert account["authorization_details"]["oauth_token"]["access_token"] == "at-issued"
        assert "user_info" not in account["authorization_details"]["oauth_token"]
    assert len(token_requests) == before + 1
    assert listener.received == []


def test_the_listener_records_what_reaches_it(tmp_path: Path) -> None:
    """The proof above rests on the listener: a connection to it is recorded."""
    listener = CountingListener("127.0.0.1").start()
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{listener.netloc}/", timeout=5)
        assert len(listener.received) == 1 and listener.received[0].startswith(b"GET / ")
    finally:
        listener.stop()
