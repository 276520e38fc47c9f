"""The tool proxy against a real recording upstream: the exact credentials, URL, query,
body and headers the upstream receives, and what the caller gets back (SPEC §8)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.support.proxy import enable, proxy_headers
from tests.support.rawhttp import send_raw
from tests.support.servers import Server, create_client
from tests.support.upstream import RecordingUpstream, provider_definition

# what each proxy log line carries (latency is logged, never asserted on)
PROXY_LOG_FIELDS = {"connection", "identifier", "method", "path", "status", "duration_ms"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _call(
    api: httpx.Client,
    upstream: RecordingUpstream,
    conn: str,
    who: str,
    path: str = "/proxy/v1/me",
    **kw: Any,
) -> Any:
    upstream.clear()
    response = api.request(
        kw.pop("method", "GET"),
        path,
        headers=proxy_headers(conn, who, **kw.pop("headers", {})),
        **kw,
    )
    return response, (upstream.requests[-1] if upstream.requests else None)


AUTH_CASES = [
    # Zendesk-style username suffix with a Freshdesk-style default password
    pytest.param(
        {
            "type": "BASIC",
            "fields": [{"field_name": "username", "required": True}],
            "auth_field_mutations": {
                "username": {"suffix": "/token"},
                "password": {"default": "X"},
            },
        },
        {"username": "key123"},
        "Authorization",
        _basic("key123/token", "X"),
        id="basic-suffix-and-default-password",
    ),
    pytest.param(
        {
            "type": "BASIC",
            "fields": [
                {"field_name": "username"},
                {"field_name": "password", "input_type": "password"},
            ],
        },
        {"username": "sid", "password": "pw:with:colons"},
        "Authorization",
        _basic("sid", "pw:with:colons"),
        id="basic-password-with-colons",
    ),
    pytest.param(
        {
            "type": "BASIC",
            "fields": [{"field_name": "username"}, {"field_name": "password"}],
            "auth_field_mutations": {"password": {"default": "fallback"}},
        },
        {"username": "u", "password": ""},
        "Authorization",
        _basic("u", "fallback"),
        id="basic-empty-password-takes-the-default",
    ),
    pytest.param(
        {"type": "BEARER"}, {"token": "tok-abc"}, "Authorization", "Bearer tok-abc", id="bearer"
    ),
    pytest.param(
        {"type": "API_KEY"}, {"api_key": "raw-key"}, "Authorization", "raw-key", id="api-key"
    ),
    pytest.param(
        {
            "type": "API_KEY",
            "auth_header_key_override": "x-api-key",
            "auth_field_mutations": {"api_key": {"prefix": "Klaviyo-API-Key "}},
        },
        {"api_key": "pk_live"},
        "x-api-key",
        "Klaviyo-API-Key pk_live",
        id="api-key-header-override-and-prefix",
    ),
    pytest.param(
        {
            "type": "API_KEY",
            "auth_field_mutations": {"api_key": {"prefix": "Bearer ", "suffix": "!"}},
        },
        {"api_key": "sk"},
        "Authorization",
        "Bearer sk!",
        id="api-key-prefix-and-suffix",
    ),
]


@pytest.mark.parametrize(("pattern", "details", "header", "expected"), AUTH_CASES)
def test_credentials_for_each_auth_type(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    pattern: dict[str, Any],
    details: dict[str, Any],
    header: str,
    expected: str,
) -> None:
    conn = f"auth-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Auth {unique}", upstream, **pattern),
            conn,
            "user@example.com",
            details,
        )
        response, seen = _call(api, upstream, conn, "user@example.com")
        assert response.status_code == 200, response.text
        assert seen is not None and seen.header(header) == expected, seen.headers if seen else None
        assert seen.raw_path == "/api/v1/me"


def test_an_imported_oauth_token_is_sent_as_bearer(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        oauth_conn = f"oauth-{unique}"
        definition = provider_definition(
            f"OAuth Import {unique}",
            upstream,
            type="OAUTH",
            fields=[],
            oauth_config={
                "authorize_uri": f"{upstream.url}/authorize",
                "token_uri": f"{upstream.url}/token",
            },
        )
        enable(
            api,
            definition,
            oauth_conn,
            "user@example.com",
            oauth_token={"access_token": "at-123", "refresh_token": "rt-9"},
        )
        response, seen = _call(api, upstream, oauth_conn, "user@example.com")
        assert response.status_code == 200 and seen is not None
        assert seen.header("Authorization") == "Bearer at-123"


def test_templated_proxy_urls(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    tls_upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Templated {unique}",
            upstream,
            type="BEARER",
            proxy_url=f"{upstream.url}/{{{{version}}}}/orgs/{{{{org_id}}}}",
            fields=[
                {"field_name": "token"},
                {"field_name": "version"},
                {"field_name": "org_id", "is_path_param": True},
            ],
        )
        enable(
            api,
            definition,
            f"tpl-{unique}",
            "u1",
            {"token": "t", "version": "v2", "path_variables": {"org_id": "acme-42"}},
        )
        response, seen = _call(api, upstream, f"tpl-{unique}", "u1", "/proxy/projects/7?expand=all")
        assert response.status_code == 200
        assert seen is not None and seen.raw_path == "/v2/orgs/acme-42/projects/7?expand=all"
        # {{domain}} in the host, over https to a certificate for localhost
        port = tls_upstream.port
        freshdesk_like = {
            "display_name": f"Domain {unique}",
            "auth_patterns": [
                {
                    "type": "BASIC",
                    "fields": [{"field_name": "domain"}, {"field_name": "username"}],
                    "auth_field_mutations": {"password": {"default": "X"}},
                }
            ],
            "proxy_url": f"https://{{{{domain}}}}:{port}/api",
            "proxy_enabled": True,
        }
        enable(
            api, freshdesk_like, f"dom-{unique}", "u2", {"domain": "localhost", "username": "fdkey"}
        )
        tls_upstream.clear()
        response = api.get("/proxy/v2/tickets?page=2", headers=proxy_headers(f"dom-{unique}", "u2"))
        assert response.status_code == 200, response.text
        seen = tls_upstream.requests[-1]
        assert seen.raw_path == "/api/v2/tickets?page=2"
        assert seen.header("Host") == f"localhost:{port}"
        assert seen.header("Authorization") == _basic("fdkey", "X")


def test_query_body_and_headers(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"fwd-{unique}"
    with server.api(dev_client) as api:
        enable(api, provider_definition(f"Forward {unique}", upstream), conn, "u", {"api_key": "k"})
        token = api.headers["Authorization"]
    query = "a=1&a=2&b=%20x%2Fy&c=&d=%E2%9C%93&e"
    body = bytes(range(256)) * 40
    headers = [
        ("Authorization", token),
        ("connection_name", conn),
        ("identifier", "u"),
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Custom", "kept"),
        ("Accept", "text/plain"),
        ("Cookie", "session=caller"),
        ("Connection", "X-Drop-Me"),
        ("X-Drop-Me", "hop"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("TE", "trailers"),
        ("Trailer", "X-T"),
    ]
    upstream.clear()
    with httpx.Client(base_url=server.url) as client:
        response = client.post(f"/proxy/items/1?{query}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    seen = upstream.requests[-1]
    assert seen.method == "POST"
    assert seen.raw_path == f"/api/items/1?{query}"
    assert seen.body_size == len(body) and seen.body == body[:65536]
    assert seen.header("X-Custom") == "kept" and seen.header("Accept") == "text/plain"
    assert seen.header("Content-Type") == "application/octet-stream"
    assert seen.header("Authorization") == "k"
    names = seen.header_names()
    for stripped in (
        "cookie",
        "x-drop-me",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "connection_name",
        "identifier",
    ):
        assert stripped not in names, stripped
    assert [v for k, v in seen.headers if k.lower() == "authorization"] == ["k"]


def test_underscore_header_names_in_any_case(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"case-{unique}"
    with server.api(dev_client) as api:
        enable(api, provider_definition(f"Case {unique}", upstream), conn, "u", {"api_key": "k"})
        token = api.headers["Authorization"]
    for name in ("Connection_name", "CONNECTION_NAME", "connection_name"):
        upstream.clear()
        response = send_raw(
            server.port, "/proxy/x", [("Authorization", token), (name, conn), ("Identifier", "u")]
        )
        assert response.status == 200, response.body
        assert upstream.requests[-1].raw_path == "/api/x"


def test_upstream_answers_are_returned_unchanged(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"ret-{unique}"
    with server.api(dev_client) as api:
        enable(
            api, provider_definition(f"Returned {unique}", upstream), conn, "u", {"api_key": "k"}
        )
        for status in (200, 201, 400, 401, 404, 409, 429, 500, 503):
            response, _ = _call(api, upstream, conn, "u", f"/proxy/status/{status}")
            assert response.status_code == status
            assert response.content == b'{"upstream_error": true}'
            assert response.headers["x-upstream"] == "yes"
            assert response.headers["set-cookie"] == "upstream=1"
            assert "x-authrelay-error" not in response.headers
        response, _ = _call(api, upstream, conn, "u", "/proxy/ok")
        assert response.headers.get_list("server") == [
            "Python/3.11 aiohttp/" + response.headers["server"].split("aiohttp/")[1]
        ]
        assert len(response.headers.get_list("date")) == 1
        assert "keep-alive" not in response.headers
        response, _ = _call(api, upstream, conn, "u", "/proxy/redirect?to=/elsewhere")
        assert response.status_code == 302 and response.headers["location"] == "/elsewhere"
        response, _ = _call(api, upstream, conn, "u", "/proxy/ok", method="HEAD")
        assert response.status_code == 200 and response.content == b""


def _error_connections(api: httpx.Client, upstream: RecordingUpstream, unique: str) -> None:
    """Connections with an account of "u": err- (works), off- (proxy disabled), closed- (an
    unreachable proxy_url) and pend- (an OAuth account still pending)."""
    enable(
        api,
        provider_definition(f"Errors {unique}", upstream),
        f"err-{unique}",
        "u",
        {"api_key": "k"},
    )
    off = provider_definition(f"Proxy Off {unique}", upstream)
    off["proxy_enabled"] = False
    enable(api, off, f"off-{unique}", "u", {"api_key": "k"})
    gone = provider_definition(
        f"Closed Port {unique}", upstream, proxy_url="http://127.0.0.1:9/api"
    )
    enable(api, gone, f"closed-{unique}", "u", {"api_key": "k"})
    oauth = provider_definition(
        f"Pending {unique}",
        upstream,
        type="OAUTH",
        fields=[],
        oauth_config={"authorize_uri": f"{upstream.url}/a", "token_uri": f"{upstream.url}/t"},
    )
    assert api.post("/api/v1/custom-providers", json=oauth).status_code == 201
    api.post(
        "/api/v1/connections",
        json={"provider_key": f"pending{unique}", "key_id": f"pend-{unique}"},
    )
    pending = api.post(
        "/api/v1/connected_accounts", json={"connector": f"pend-{unique}", "identifier": "u"}
    )
    assert pending.json()["connected_account"]["status"] == "PENDING_AUTH"


#: (proxy headers, "{unique}" filled in; status, error code, a phrase of the message)
ERROR_CASES = [
    pytest.param({"connection_name": "err-{unique}"}, 400, 3, "identifier", id="no-identifier"),
    pytest.param({"identifier": "u"}, 400, 3, "connection_name", id="no-connection-name"),
    pytest.param(proxy_headers("nope-{unique}", "u"), 404, 5, "no connection", id="no-connection"),
    pytest.param(
        proxy_headers("err-{unique}", "nobody"), 404, 5, "no connected account", id="no-account"
    ),
    pytest.param(proxy_headers("off-{unique}", "u"), 412, 9, "proxy_enabled", id="proxy-disabled"),
    pytest.param(proxy_headers("pend-{unique}", "u"), 412, 9, "magic_link", id="pending-account"),
    pytest.param(
        proxy_headers("closed-{unique}", "u"), 502, 14, "could not reach", id="unreachable"
    ),
]


@pytest.mark.parametrize(("headers", "status", "code", "text"), ERROR_CASES)
def test_authrelay_errors_are_json_with_a_marker(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    headers: dict[str, str],
    status: int,
    code: int,
    text: str,
) -> None:
    with server.api(dev_client) as api:
        _error_connections(api, upstream, unique)
        upstream.clear()
        filled = {name: value.format(unique=unique) for name, value in headers.items()}
        response = api.get("/proxy/v1/x", headers=filled)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["code"] == code and text in body["message"], body
        assert response.headers["x-authrelay-error"]
    assert upstream.requests == []


def test_a_disabled_connection_and_a_missing_token_are_refused_with_a_marker(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Errors {unique}", upstream),
            f"err-{unique}",
            "u",
            {"api_key": "k"},
        )
        upstream.clear()
        conn_id = api.get(f"/api/v1/connections/err-{unique}").json()["connection"]["id"]
        assert api.patch(f"/api/v1/connections/{conn_id}:disable").json() == {
            "enabled": False,
            "error_message": "",
        }
        response = api.get("/proxy/v1/x", headers=proxy_headers(f"err-{unique}", "u"))
        assert response.status_code == 412 and "disabled" in response.json()["message"]
        assert response.headers["x-authrelay-error"]
        api.patch(f"/api/v1/connections/{conn_id}:enable")
        assert (
            api.get("/proxy/v1/x", headers=proxy_headers(f"err-{unique}", "u")).status_code == 200
        )
    no_token = httpx.get(f"{server.url}/proxy/v1/x", headers=proxy_headers(f"err-{unique}", "u"))
    assert (
        no_token.status_code == 401 and no_token.headers["x-authrelay-error"] == "UNAUTHENTICATED"
    )
    assert all(r.raw_path.startswith("/api/v1/x") for r in upstream.requests)


def test_changes_reach_the_proxy_at_once(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"fresh-{unique}"
    with server.api(dev_client) as api:
        enable(api, provider_definition(f"Fresh {unique}", upstream), conn, "u", {"api_key": "old"})
        _, seen = _call(api, upstream, conn, "u")
        assert seen is not None and seen.header("Authorization") == "old"
        api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "u",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": {"api_key": "new"}}}
                },
            },
        )
        _, seen = _call(api, upstream, conn, "u")
        assert seen is not None and seen.header("Authorization") == "new"
        changed = provider_definition(f"Fresh {unique}", upstream, proxy_url=f"{upstream.url}/v9")
        assert api.put(f"/api/v1/custom-providers/fresh{unique}", json=changed).status_code == 200
        _, seen = _call(api, upstream, conn, "u")
        assert seen is not None and seen.raw_path == "/v9/v1/me"
        api.post("/api/v1/connected_accounts:delete", json={"connector": conn, "identifier": "u"})
        response, seen = _call(api, upstream, conn, "u")
        assert response.status_code == 404 and seen is None


def test_last_used_and_the_log_line(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"used-{unique}"
    secret = f"planted-{unique}-secret"
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Used {unique}", upstream),
            conn,
            "who@example.com",
            {"api_key": secret},
        )
        before = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "who@example.com"},
        ).json()
        assert before["connected_account"]["last_used_at"] is None
        _call(api, upstream, conn, "who@example.com")
        after = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "who@example.com"},
        ).json()
        assert after["connected_account"]["last_used_at"] is not None
        listed = api.get("/api/v1/connected_accounts", params={"connector": conn}).json()
        assert listed["connected_accounts"][0]["last_used_at"] is not None
    log = server.log_text()
    lines = [
        line for line in log.splitlines() if '"logger": "authrelay.proxy"' in line and conn in line
    ]
    assert lines and '"identifier": "who@example.com"' in lines[-1] and '"status": 200' in lines[-1]
    entry = json.loads(lines[-1])
    assert entry["method"] == "GET" and PROXY_LOG_FIELDS <= set(entry)
    assert secret not in log


def test_log_line_escapes_values_and_calls_are_counted(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    """The hand-built log line is valid JSON whatever the caller sends, and every proxied
    call, refused ones included, is counted in /metrics by the status answered."""

    def proxied_count(status: int) -> float:
        for line in httpx.get(f"{server.url}/metrics").text.splitlines():
            if line.startswith(f'authrelay_proxy_requests_total{{status="{status}"}} '):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = proxied_count(404)
    who = f'o"brien\\{unique}\t@example.com'
    with server.api(dev_client) as api:
        response = api.get(
            f"/proxy/v1/odd/{unique}", headers=proxy_headers(f"nosuch-{unique}", who)
        )
    assert response.status_code == 404
    assert proxied_count(404) == before + 1
    lines = [
        json.loads(line)
        for line in server.log_text().splitlines()
        if '"logger": "authrelay.proxy"' in line and unique in line
    ]
    assert lines, "no proxy log line for the call"
    entry = lines[-1]
    assert entry["identifier"] == who and entry["connection"] == f"nosuch-{unique}"
    assert entry["path"] == f"/proxy/v1/odd/{unique}" and entry["status"] == 404


def test_upstream_read_timeout(
    strict_server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    client = create_client(strict_server.backend, "dev")
    with strict_server.api(client) as api:
        enable(
            api,
            provider_definition(f"Slow {unique}", upstream),
            f"slow-{unique}",
            "u",
            {"api_key": "k"},
        )
        response = api.get(
            "/proxy/slow", params={"s": "5"}, headers=proxy_headers(f"slow-{unique}", "u")
        )
    assert response.status_code == 504
    assert (
        response.headers["x-authrelay-error"] == "DEADLINE_EXCEEDED"
        and response.json()["code"] == 4
    )


def _account(conn: str, identifier: str, key: str) -> dict[str, Any]:
    """The body that creates or updates an API-key account."""
    details = {"static_auth": {"details": {"api_key": key}}}
    account = {"authorization_details": details}
    return {"connector": conn, "identifier": identifier, "connected_account": account}


def _replica_sends(
    replica: httpx.Client, upstream: RecordingUpstream, conn: str, identifier: str, key: str
) -> tuple[int, str | None]:
    """(status, credential sent upstream) of a proxied call through `replica`, asked again
    until the credential is `key`: a change made through another process reaches this one
    within its poll interval (bounded, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while True:
        upstream.clear()
        status = replica.get("/proxy/x", headers=proxy_headers(conn, identifier)).status_code
        seen = upstream.requests[-1].header("Authorization") if upstream.requests else None
        if seen == key or time.monotonic() > deadline:
            return status, seen
        time.sleep(0.2)


def test_changes_reach_other_replicas(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """Two processes on one database: a change made through one reaches the other's cache
    (within its poll interval)."""
    conn = f"replica-{unique}"
    with server.api(dev_client) as a, strict_server.api(dev_client) as b:
        enable(
            a, provider_definition(f"Replica {unique}", upstream), conn, "u", {"api_key": "first"}
        )
        upstream.clear()
        assert b.get("/proxy/x", headers=proxy_headers(conn, "u")).status_code == 200
        assert upstream.requests[-1].header("Authorization") == "first"
        a.put("/api/v1/connected_accounts", json=_account(conn, "u", "second"))
        _, seen = _replica_sends(b, upstream, conn, "u", "second")
        assert seen == "second"


def test_a_new_account_reaches_a_replica_that_answered_404(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """The other process cached "no such account" (a 404 answer); creating the account
    through the first moves the accounts generation, and the second drops that answer
    (within its poll interval)."""
    conn = f"late-{unique}"
    with server.api(dev_client) as a, strict_server.api(dev_client) as b:
        enable(a, provider_definition(f"Late {unique}", upstream), conn, "u", {"api_key": "k"})
        assert b.get("/proxy/x", headers=proxy_headers(conn, "newcomer")).status_code == 404
        created = a.post("/api/v1/connected_accounts", json=_account(conn, "newcomer", "new"))
        assert created.status_code == 201, created.text
        status, seen = _replica_sends(b, upstream, conn, "newcomer", "new")
        assert status == 200
        assert seen == "new"


def test_account_creation_sees_a_connection_deleted_on_a_replica(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """The first process keeps the connection and provider of each connector for account
    creation; the connection deleted through the second is gone for the first's next create
    (it reads the configuration generation with the token): 404, not an account."""
    conn = f"gone-{unique}"
    with server.api(dev_client) as a, strict_server.api(dev_client) as b:
        enable(a, provider_definition(f"Gone {unique}", upstream), conn, "u", {"api_key": "k"})
        deleted = b.delete(f"/api/v1/connections/{conn}", params={"force": "true"})
        assert deleted.status_code == 200, deleted.text
        again = a.post("/api/v1/connected_accounts", json=_account(conn, "v", "k"))
        assert again.status_code == 404, again.text
        assert f"no connection named {conn!r}" in again.json()["message"]
