"""`auth_query_param` (SPEC §3a) end to end: definition -> connection -> account -> proxied
call against a recording upstream; the credential arrives in the query, encoded and
mutated, and never shows in logs, errors, responses or the audit log."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

from tests.proxy.proxy_log import proxy_lines
from tests.support.proxy import enable, proxy_headers
from tests.support.servers import Server, free_port
from tests.support.upstream import RecordingUpstream, provider_definition

# A planted secret with characters a query must encode.
SECRET = "qk-Plant3d&secret/+=?#"


def _query(raw_path: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(raw_path).query, keep_blank_values=True)


def test_api_key_in_the_query(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"qkey-{unique}"
    secret = f"{SECRET}{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Query Key {unique}",
            upstream,
            type="API_KEY",
            auth_query_param="api_key",
            auth_field_mutations={"api_key": {"prefix": "k-"}},
        )
        enable(api, definition, conn, "q@example.com", {"api_key": secret})
        upstream.clear()
        # The caller's own api_key parameter is dropped; its other parameters stay in order.
        response = api.get(
            "/proxy/v1/items?limit=5&api_key=callers-own&q=a%20b",
            headers=proxy_headers(conn, "q@example.com"),
        )
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert _query(seen.raw_path) == [("limit", "5"), ("q", "a b"), ("api_key", f"k-{secret}")]
        assert f"api_key={quote('k-' + secret, safe='')}" in seen.raw_path
        assert seen.raw_path.startswith("/api/v1/items?")
        assert seen.header("Authorization") is None  # not in a header as well
        # Without a query of its own the call still carries the credential.
        upstream.clear()
        response = api.get("/proxy/v1/items", headers=proxy_headers(conn, "q@example.com"))
        assert response.status_code == 200
        assert _query(upstream.requests[-1].raw_path) == [("api_key", f"k-{secret}")]
        # Nothing the API answers holds it: provider, account details and list, audit log.
        provider = api.get(f"/api/v1/providers/querykey{unique}")
        details = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "q@example.com"},
        )
        listed = api.get("/api/v1/connected_accounts", params={"connector": conn})
        audit = api.get("/api/v1/audit-logs")
        for answer in (provider, details, listed, audit):
            assert answer.status_code == 200, answer.text
            assert secret not in answer.text
    lines = proxy_lines(server, conn, 2)
    assert lines[-1]["status"] == 200 and lines[-1]["path"] == "/proxy/v1/items"
    log = server.log_text()
    assert secret not in log and quote(secret, safe="") not in log


def test_bearer_token_in_the_query(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"qbearer-{unique}"
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Query Bearer {unique}", upstream, type="BEARER", auth_query_param="access_token"
        )
        enable(api, definition, conn, "b@example.com", {"token": f"tok-{unique}"})
        upstream.clear()
        response = api.post(
            "/proxy/v2/send?x=1",
            headers=proxy_headers(conn, "b@example.com"),
            content=b'{"a": 1}',
        )
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        # The token as it is: "Bearer " belongs to the header form only.
        assert _query(seen.raw_path) == [("x", "1"), ("access_token", f"tok-{unique}")]
        assert seen.header("Authorization") is None and seen.body == b'{"a": 1}'


def test_errors_never_show_the_query_credential(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    """An unreachable upstream and a refused path: authrelay's own errors and log lines
    carry no query string, so the planted key is nowhere."""
    conn = f"qdown-{unique}"
    secret = f"{SECRET}down{unique}"
    closed = f"http://127.0.0.1:{free_port()}"
    with server.api(dev_client) as api:
        definition = {
            "display_name": f"Query Down {unique}",
            "auth_patterns": [
                {
                    "type": "API_KEY",
                    "fields": [{"field_name": "api_key", "input_type": "password"}],
                    "auth_query_param": "key",
                }
            ],
            "proxy_url": f"{closed}/api",
            "proxy_enabled": True,
        }
        enable(api, definition, conn, "d@example.com", {"api_key": secret})
        down = api.get("/proxy/v1/x?key=mine", headers=proxy_headers(conn, "d@example.com"))
        assert down.status_code == 502 and down.headers.get("x-authrelay-error")
        bad = api.get("/proxy/v1/%2e%2e/x", headers=proxy_headers(conn, "d@example.com"))
        assert bad.status_code == 400
        for answer in (down, bad):
            assert secret not in answer.text and quote(secret, safe="") not in answer.text
    lines = proxy_lines(server, conn, 2)
    assert {line["status"] for line in lines} >= {502, 400}
    log = server.log_text()
    assert secret not in log and quote(secret, safe="") not in log


def test_query_param_validation_names_every_field(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Query Bad {unique}",
            upstream,
            type="API_KEY",
            auth_query_param="key",
            auth_header_key_override="X-Api-Key",
        )
        definition["auth_patterns"].append(
            {
                "type": "BASIC",
                "fields": [{"field_name": "username"}],
                "auth_query_param": "user",
            }
        )
        definition["auth_patterns"].append(
            {"type": "BEARER", "fields": [{"field_name": "token"}], "auth_query_param": "a&b=c"}
        )
        response = api.post("/api/v1/custom-providers", json=definition)
        assert response.status_code == 400
        body = response.json()
        fields = {v["field"] for v in body["details"][0]["field_violations"]}
        assert fields == {
            "auth_patterns[0].auth_query_param",
            "auth_patterns[0].auth_header_key_override",
            "auth_patterns[1].auth_query_param",
            "auth_patterns[2].auth_query_param",
        }
        assert "auth_header_key_override" in body["message"]
        missing = api.get(f"/api/v1/providers/querybad{unique}")
        assert missing.status_code == 404
