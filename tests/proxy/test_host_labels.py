"""Host-label placeholders through the real server (SPEC §3a): definition -> connection ->
account -> proxied call with the tenant in the host, on SQLite and PostgreSQL; values that
are not one DNS label, hosts outside the allow-list over http://, and names resolving to a
blocked address are all refused before any upstream request."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.proxy import enable, proxy_headers
from tests.support.rawdb import execute
from tests.support.servers import Server, start_server
from tests.support.upstream import RecordingUpstream

STATIC_AT = "connected_account.authorization_details.static_auth.details"
# Each refused before any request: CR/LF, '..', '@', '#', a port, a dot, empty, and more.
HOSTILE = [
    "acme\r\nX-Evil: 1",
    "..",
    "evil.com@acme",
    "acme#frag",
    "acme:8443",
    "acme.evil.com",
    "",
    "acme/x",
    "-acme",
    "a" * 64,
]


def _static(name: str, proxy_url: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [
                    {"field_name": "api_key", "input_type": "password", "required": True},
                    {"field_name": "tenant", "label": "Tenant", "required": True},
                ],
                "auth_field_mutations": {"api_key": {"prefix": "Key "}},
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def _oauth(name: str, proxy_url: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "account_fields": [{"field_name": "subdomain", "required": True}],
                "oauth_config": {
                    "authorize_uri": "https://{{subdomain}}.zendesk.com/oauth/authorizations/new",
                    "token_uri": "https://{{subdomain}}.zendesk.com/oauth/tokens",
                },
            }
        ],
        "proxy_url": proxy_url,
        "proxy_enabled": True,
    }


def _call(
    api: httpx.Client, upstream: RecordingUpstream, conn: str, who: str
) -> tuple[httpx.Response, int]:
    upstream.clear()
    response = api.get("/proxy/v1/tickets", params={"page": "2"}, headers=proxy_headers(conn, who))
    return response, len(upstream.requests)


def test_static_account_with_tenant_in_the_host(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hl-static-{unique}"
    definition = _static(f"HL Static {unique}", f"http://{{{{tenant}}}}:{upstream.port}/api")
    with server.api(dev_client) as api:
        account = enable(api, definition, conn, "alice", {"api_key": "k-1", "tenant": "localhost"})
        assert account["status"] == "ACTIVE"
        response, sent = _call(api, upstream, conn, "alice")
        assert response.status_code == 200, response.text
        assert sent == 1
        seen = upstream.requests[-1]
        assert seen.raw_path == "/api/v1/tickets?page=2"
        assert seen.header("Host") == f"localhost:{upstream.port}"
        assert seen.header("Authorization") == "Key k-1"


def test_https_template_and_oauth_account_fields(
    server: Server, dev_client: dict[str, str], tls_upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hl-oauth-{unique}"
    definition = _oauth(f"HL OAuth {unique}", f"https://{{{{subdomain}}}}:{tls_upstream.port}/v2")
    with server.api(dev_client) as api:
        enable(
            api,
            definition,
            conn,
            "bob",
            oauth_token={"access_token": "at-bob-123"},
            api_config={"subdomain": "localhost"},
        )
        response, sent = _call(api, tls_upstream, conn, "bob")
        assert response.status_code == 200, response.text
        assert sent == 1
        seen = tls_upstream.requests[-1]
        assert seen.raw_path == "/v2/v1/tickets?page=2"
        assert seen.header("Authorization") == "Bearer at-bob-123"


HOSTILE_IDS = [
    "crlf",
    "dot-dot",
    "userinfo",
    "fragment",
    "port",
    "other-domain",
    "empty",
    "slash",
    "leading-dash",
    "64-chars",
]


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_values_are_refused_when_the_account_is_created(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str, value: str
) -> None:
    conn = f"hl-bad-{unique}"
    definition = _static(f"HL Bad {unique}", f"http://{{{{tenant}}}}:{upstream.port}/api")
    with server.api(dev_client) as api:
        enable(api, definition, conn, "good", {"api_key": "k", "tenant": "localhost"})
        oauth_conn = f"hl-bado-{unique}"
        enable(
            api,
            _oauth(f"HL Bado {unique}", f"http://{{{{subdomain}}}}:{upstream.port}/x"),
            oauth_conn,
            "good",
            oauth_token={"access_token": "at"},
            api_config={"subdomain": "localhost"},
        )
        upstream.clear()
        body = {
            "connector": conn,
            "identifier": "u",
            "connected_account": {
                "authorization_details": {
                    "static_auth": {"details": {"api_key": "k", "tenant": value}}
                }
            },
        }
        response = api.post("/api/v1/connected_accounts", json=body)
        assert response.status_code == 400, response.text
        fields = [v["field"] for v in response.json()["details"][0]["field_violations"]]
        assert f"{STATIC_AT}.tenant" in fields, fields
        body = {
            "connector": oauth_conn,
            "identifier": "o",
            "connected_account": {
                "authorization_details": {"oauth_token": {"access_token": "at"}},
                "api_config": {"subdomain": value},
            },
        }
        response = api.post("/api/v1/connected_accounts", json=body)
        assert response.status_code == 400, response.text
        assert "subdomain" in response.text
        link = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": oauth_conn, "identifier": "l", "api_config": {"subdomain": value}},
        )
        assert link.status_code == 400, link.text
        violations = link.json()["details"][0]["field_violations"]
        assert violations[0]["field"] == "api_config.subdomain"
        # no account was created by any refused request, and nothing reached the upstream
        for connector, identifier in ((conn, "u"), (oauth_conn, "o"), (oauth_conn, "l")):
            found = api.get(
                "/api/v1/connected_accounts/details",
                params={"connector": connector, "identifier": identifier},
            )
            assert found.status_code == 404, (connector, identifier)
        assert upstream.requests == []


def test_a_magic_link_for_a_static_connection_takes_no_api_config(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"hl-sl-{unique}"
    definition = _static(f"HL Sl {unique}", f"http://{{{{tenant}}}}:{upstream.port}/api")
    with server.api(dev_client) as api:
        enable(api, definition, conn, "good", {"api_key": "k", "tenant": "localhost"})
        static_link = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": conn, "identifier": "s1", "api_config": {"tenant": "acme"}},
        )
        assert static_link.status_code == 400
        assert static_link.json()["details"][0]["field_violations"][0]["field"] == "api_config"


def test_stored_values_are_checked_again_on_every_call(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """Values no API call would accept (written straight into the store) are refused by the
    proxy before any upstream request."""
    conn = f"hl-raw-{unique}"
    definition = _oauth(f"HL Raw {unique}", f"http://{{{{subdomain}}}}:{upstream.port}/x")
    with server.api(dev_client) as api:
        first = True
        for i, value in enumerate([*HOSTILE, "vm"]):
            who = f"raw{i}"
            account = (
                enable(
                    api,
                    definition,
                    conn,
                    who,
                    oauth_token={"access_token": "at"},
                    api_config={"subdomain": "localhost"},
                )
                if first
                else _add_oauth_account(api, conn, who)
            )
            first = False
            execute(
                server.backend,
                "UPDATE connected_accounts SET api_config = '"
                + json.dumps({"subdomain": value})
                + f"' WHERE id = '{account['id']}'",
            )
            response, sent = _call(api, upstream, conn, who)
            assert sent == 0, value
            if value == "vm":  # one valid label, resolves to loopback, not in the allow-list
                assert response.status_code == 403, response.text
                assert "allow-list" in response.json()["message"]
            else:
                assert response.status_code == 400, (value, response.text)
                assert "{{subdomain}}" in response.json()["message"]
            assert response.headers["x-authrelay-error"]


def _add_oauth_account(api: httpx.Client, conn: str, who: str) -> dict[str, Any]:
    body = {
        "connector": conn,
        "identifier": who,
        "connected_account": {
            "authorization_details": {"oauth_token": {"access_token": "at"}},
            "api_config": {"subdomain": "localhost"},
        },
    }
    response = api.post("/api/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["connected_account"])


@pytest.fixture(scope="module")
def narrow_server(
    server: Server, tmp_path_factory: pytest.TempPathFactory, tls: tuple[Path, ssl.SSLContext]
) -> Iterator[Server]:
    """A server on the same store whose allow-list names no loopback address."""
    srv = start_server(
        server.backend,
        tmp_path_factory.mktemp("narrow"),
        AUTHRELAY_UPSTREAM_ALLOWLIST="192.0.2.1/32",
        AUTHRELAY_PROXY_CA_FILE=str(tls[0]),
    )
    yield srv
    srv.stop()


def test_a_filled_host_resolving_to_a_blocked_address_is_refused(
    server: Server,
    narrow_server: Server,
    dev_client: dict[str, str],
    tls_upstream: RecordingUpstream,
    unique: str,
) -> None:
    conn = f"hl-ssrf-{unique}"
    definition = _static(f"HL Ssrf {unique}", f"https://{{{{tenant}}}}:{tls_upstream.port}/api")
    with server.api(dev_client) as api:
        enable(api, definition, conn, "carol", {"api_key": "k", "tenant": "localhost"})
        response, sent = _call(api, tls_upstream, conn, "carol")
        assert response.status_code == 200 and sent == 1  # allowed where loopback is listed
    with narrow_server.api(dev_client) as api:
        response, sent = _call(api, tls_upstream, conn, "carol")
        assert sent == 0
        assert response.status_code == 403, response.text
        assert "127.0.0.1" in response.json()["message"]
        assert response.headers["x-authrelay-error"]
