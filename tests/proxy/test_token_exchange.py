"""TOKEN_EXCHANGE end to end (SPEC §3a): definition -> connection -> account -> proxied call
against a real token-exchange upstream, on every backend. The token is exchanged on first
use, renewed on expiry and after a 401, once for concurrent first calls (across two server
processes), and a refused exchange names the upstream's answer and expires the account."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.exchange_upstream import ExchangeUpstream, definition
from tests.support.proxy import enable, proxy_headers
from tests.support.rawdb import raw_bytes
from tests.support.servers import Server


@pytest.fixture
def exchange_upstream() -> Iterator[ExchangeUpstream]:
    server = ExchangeUpstream().start()
    yield server
    server.stop()


def _account(api: httpx.Client, conn: str, identifier: str) -> dict[str, Any]:
    response = api.get(
        "/api/v1/connected_accounts/details",
        params={"connector": conn, "identifier": identifier},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["connected_account"])


def test_json_exchange_end_to_end(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-1"] = f"secret-{unique}"
    up.ttl = 3600
    conn = f"tx-json-{unique}"
    with server.api(dev_client) as api:
        account = enable(
            api,
            definition(
                f"Tx Json {unique}",
                up,
                headers={"X-App": "authrelay-{{client_id}}"},
                expires_in_path="data.expires_in",
            ),
            conn,
            "ann",
            {"client_id": "app-1", "client_secret": f"secret-{unique}"},
        )
        assert account["status"] == "ACTIVE"
        assert account["authorization_type"] == "TOKEN_EXCHANGE"
        assert up.exchanges == []  # exchanged on first use, not before
        connection = api.get(f"/api/v1/connections/{conn}")
        assert connection.json()["connection"]["type"] == "TOKEN_EXCHANGE", connection.text

        first = api.get("/proxy/v1/things", headers=proxy_headers(conn, "ann"))
        assert first.status_code == 200, first.text
        second = api.post("/proxy/v1/things", headers=proxy_headers(conn, "ann"), json={"a": 1})
        assert second.status_code == 200, second.text

        assert len(up.exchanges) == 1
        sent = up.exchanges[0]
        assert sent.content_type == "application/json"
        assert sent.fields == {"client_id": "app-1", "client_secret": f"secret-{unique}"}
        assert sent.headers["x-app"] == "authrelay-app-1"
        token = up.issued[0]
        assert [c.headers["authorization"] for c in up.api_calls] == [f"Bearer {token}"] * 2
        assert [c.path for c in up.api_calls] == ["/api/v1/things"] * 2

        detail = _account(api, conn, "ann")
        assert detail["status"] == "ACTIVE"
        expires = detail["token_expires_at"]
        assert expires is not None
        left = time.mktime(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S")) - time.mktime(
            time.gmtime()
        )
        assert 3000 < left <= 3601
        # the account's public details never carry the secret or the exchanged token
        assert f"secret-{unique}" not in str(detail) and token not in str(detail)

        # new credentials drop the token: the next call exchanges them
        updated = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "ann",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"client_secret": f"secret-{unique}"}}
                    }
                },
            },
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["connected_account"]["token_expires_at"] is None
        assert api.get("/proxy/v1/again", headers=proxy_headers(conn, "ann")).status_code == 200
        assert len(up.exchanges) == 2
        assert up.api_calls[-1].headers["authorization"] == f"Bearer {up.issued[1]}"


def test_form_body_and_custom_header(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-2"] = "form-secret"
    conn = f"tx-form-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(
                f"Tx Form {unique}",
                up,
                body_format="form",
                body={
                    "client_id": "{{client_id}}",
                    "client_secret": "{{client_secret}}",
                    "grant": "session",
                },
                header_name="X-Session",
                header_template="Session {{token}}",
                default_ttl_seconds=600,
            ),
            conn,
            "bob",
            {"client_id": "app-2", "client_secret": "form-secret"},
        )
        response = api.get(
            "/proxy/items",
            headers=proxy_headers(conn, "bob", **{"X-Session": "caller-spoof"}),
        )
        assert response.status_code == 200, response.text
        sent = up.exchanges[0]
        assert sent.content_type == "application/x-www-form-urlencoded"
        assert sent.fields == {
            "client_id": "app-2",
            "client_secret": "form-secret",
            "grant": "session",
        }
        call = up.api_calls[0]
        assert call.headers["x-session"] == f"Session {up.issued[0]}"
        assert "authorization" not in call.headers  # the caller's token is never forwarded
        expires = _account(api, conn, "bob")["token_expires_at"]
        assert expires is not None  # default_ttl_seconds, as the answer has no expiry


def test_renewed_on_expiry(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-3"] = "s3"
    up.ttl = 1
    conn = f"tx-exp-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Exp {unique}", up, expires_in_path="data.expires_in"),
            conn,
            "cy",
            {"client_id": "app-3", "client_secret": "s3"},
        )
        assert api.get("/proxy/a", headers=proxy_headers(conn, "cy")).status_code == 200
        assert len(up.exchanges) == 1
        time.sleep(1.2)  # let the one-second token run out (no timing is asserted)
        assert api.get("/proxy/b", headers=proxy_headers(conn, "cy")).status_code == 200
        assert len(up.exchanges) == 2
        assert up.api_calls[-1].headers["authorization"] == f"Bearer {up.issued[1]}"


def test_renewed_after_upstream_401(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-4"] = "s4"
    conn = f"tx-401-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Rej {unique}", up),
            conn,
            "dee",
            {"client_id": "app-4", "client_secret": "s4"},
        )
        assert api.get("/proxy/a", headers=proxy_headers(conn, "dee")).status_code == 200
        assert _account(api, conn, "dee")["token_expires_at"] is None  # renewed on 401 only
        up.revoke_all()  # the upstream forgets the token
        again = api.post("/proxy/write", headers=proxy_headers(conn, "dee"), json={"n": 2})
        assert again.status_code == 200, again.text
        assert len(up.exchanges) == 2
        statuses = [c.headers["authorization"] for c in up.api_calls]
        assert statuses == [f"Bearer {up.issued[0]}"] * 2 + [f"Bearer {up.issued[1]}"]
        # the body was replayed after the renewal
        assert up.api_calls[-1].fields == up.api_calls[-2].fields == {"n": "2"}


def test_concurrent_first_calls_exchange_once(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    exchange_upstream: ExchangeUpstream,
    unique: str,
) -> None:
    up = exchange_upstream
    up.credentials["app-5"] = "s5"
    up.delay = 0.5  # keep the first exchange in flight while the others arrive
    conn = f"tx-sf-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Sf {unique}", up),
            conn,
            "eve",
            {"client_id": "app-5", "client_secret": "s5"},
        )
    results: list[int] = []
    barrier = threading.Barrier(4)

    def call(srv: Server) -> None:
        with srv.api(dev_client) as client:
            barrier.wait()
            results.append(client.get("/proxy/x", headers=proxy_headers(conn, "eve")).status_code)

    threads = [threading.Thread(target=call, args=(s,)) for s in (server, strict_server) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 4
    assert len(up.exchanges) == 1  # one exchange for four first calls in two processes
    assert {c.headers["authorization"] for c in up.api_calls} == {f"Bearer {up.issued[0]}"}


def test_refused_exchange_names_the_answer_and_expires_the_account(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-6"] = "right-secret"
    conn = f"tx-bad-{unique}"
    planted = f"WRONG-{unique}-secret"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Bad {unique}", up),
            conn,
            "fay",
            {"client_id": "app-6", "client_secret": planted},
        )
        up.fail_status = 403  # the upstream echoes what it got, secret included
        refused = api.get("/proxy/a", headers=proxy_headers(conn, "fay"))
        assert refused.status_code == 412, refused.text
        error = refused.json()
        assert refused.headers["x-authrelay-error"] == "FAILED_PRECONDITION"
        message = error["message"]
        assert "HTTP 403" in message and "refused" in message and "EXPIRED" in message
        assert f"POST {up.url}/exchange" in message
        assert "[redacted]" in message and planted not in refused.text
        assert _account(api, conn, "fay")["status"] == "EXPIRED"
        assert up.api_calls == []
        # later calls say the account is expired, without another exchange
        later = api.get("/proxy/a", headers=proxy_headers(conn, "fay"))
        assert later.status_code == 412 and "EXPIRED" in later.json()["message"]
        assert len(up.exchanges) == 1

        # new credentials make it ACTIVE again, and the next call exchanges them
        up.fail_status = None
        fixed = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": "fay",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"client_secret": "right-secret"}}
                    }
                },
            },
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["connected_account"]["status"] == "ACTIVE"
        ok = api.get("/proxy/a", headers=proxy_headers(conn, "fay"))
        assert ok.status_code == 200, ok.text
        assert up.exchanges[-1].fields["client_secret"] == "right-secret"
    assert planted not in server.log_text()


def test_exchange_outage_keeps_the_account_active(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-7"] = "s7"
    conn = f"tx-down-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Down {unique}", up),
            conn,
            "gus",
            {"client_id": "app-7", "client_secret": "s7"},
        )
        up.fail_status = 503
        down = api.get("/proxy/a", headers=proxy_headers(conn, "gus"))
        assert down.status_code == 502, down.text
        assert "HTTP 503" in down.json()["message"]
        assert _account(api, conn, "gus")["status"] == "ACTIVE"
        up.fail_status = None
        assert api.get("/proxy/a", headers=proxy_headers(conn, "gus")).status_code == 200

        # an answer without a token at token_path is named as such
        api_wrong = definition(f"Tx Path {unique}", up, token_path="data.access_token")
        enable(api, api_wrong, f"{conn}-p", "gus", {"client_id": "app-7", "client_secret": "s7"})
        missing = api.get("/proxy/a", headers=proxy_headers(f"{conn}-p", "gus"))
        assert missing.status_code == 502
        assert "without a string at token_path 'data.access_token'" in missing.json()["message"]


def test_hosted_form_collects_the_fields(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    up.credentials["app-8"] = "s8"
    conn = f"tx-page-{unique}"
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition(f"Tx Page {unique}", up))
        assert created.status_code == 201, created.text
        identifier = created.json()["provider"]["identifier"]
        response = api.post(
            "/api/v1/connections", json={"provider_key": identifier, "key_id": conn}
        )
        assert response.status_code == 201, response.text
        link = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": conn, "identifier": "hal"},
        ).json()["link"]
        with httpx.Client() as browser:
            page = browser.get(link)
            assert page.status_code == 200, page.text
            assert 'name="client_id"' in page.text and 'name="client_secret"' in page.text
            assert 'type="password"' in page.text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            action = re.search(r'action="([^"]+)"', page.text)
            assert csrf and action
            done = browser.post(
                server.url + action.group(1),
                data={"csrf_token": csrf.group(1), "client_id": "app-8", "client_secret": "s8"},
            )
            assert done.status_code == 200 and "is connected" in done.text
        assert _account(api, conn, "hal")["status"] == "ACTIVE"
        assert api.get("/proxy/z", headers=proxy_headers(conn, "hal")).status_code == 200
        assert up.exchanges[0].fields == {"client_id": "app-8", "client_secret": "s8"}


def test_secrets_and_tokens_never_leak(
    server: Server, dev_client: dict[str, str], exchange_upstream: ExchangeUpstream, unique: str
) -> None:
    up = exchange_upstream
    planted = f"PLANTED-{unique}-client-secret"
    up.credentials["app-9"] = planted
    conn = f"tx-leak-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            definition(f"Tx Leak {unique}", up),
            conn,
            "ivy",
            {"client_id": "app-9", "client_secret": planted},
        )
        assert api.get("/proxy/a", headers=proxy_headers(conn, "ivy")).status_code == 200
        token = up.issued[0]
        responses = [
            api.get("/api/v1/connected_accounts", params={"connector": conn}).text,
            api.get(
                "/api/v1/connected_accounts/details",
                params={"connector": conn, "identifier": "ivy"},
            ).text,
            api.get("/api/v1/audit-logs", params={"page_size": 100}).text,
            api.get(f"/api/v1/connections/{conn}").text,
        ]
    stored = raw_bytes(server.backend)
    for secret in (planted, token):
        for text in responses:
            assert secret not in text
        assert secret not in server.log_text()
        assert secret.encode() not in stored


def test_exchange_target_passes_the_ssrf_guard(
    server: Server,
    strict_server: Server,
    dev_client: dict[str, str],
    exchange_upstream: ExchangeUpstream,
    unique: str,
) -> None:
    """The strict server allows only 127.0.0.1: an exchange URL on 127.0.0.2 (accepted by
    the definition's allow-list) is refused there before any request is made."""
    up = exchange_upstream
    up.credentials["app-10"] = "s10"
    conn = f"tx-ssrf-{unique}"
    blocked = definition(f"Tx Ssrf {unique}", up)
    blocked["auth_patterns"][0]["token_exchange"]["url"] = f"http://127.0.0.2:{up.port}/exchange"
    with server.api(dev_client) as api:
        enable(api, blocked, conn, "kim", {"client_id": "app-10", "client_secret": "s10"})
    with strict_server.api(dev_client) as api:
        refused = api.get("/proxy/a", headers=proxy_headers(conn, "kim"))
        assert refused.status_code == 502, refused.text
        assert "is refused" in refused.json()["message"]
        assert "allow-list" in refused.json()["message"]
        assert _account(api, conn, "kim")["status"] == "ACTIVE"
    assert up.exchanges == [] and up.api_calls == []
