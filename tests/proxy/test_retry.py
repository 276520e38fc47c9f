"""The provider's `retry` policy (SPEC §3a) end to end: definition -> connection -> account
-> proxied call against an upstream that fails a set number of times. Retry-After in
seconds and as an HTTP date, backoff without it, idempotent methods only, max_attempts,
the retry body limit, and the log line and metric that show retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.proxy.proxy_log import proxy_lines
from tests.support.flaky_upstream import FlakyUpstream
from tests.support.proxy import enable, proxy_headers
from tests.support.servers import Server, start_server
from tests.support.upstream import provider_definition


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakyUpstream]:
    server = FlakyUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small_limit_server(
    server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A second server on the same store keeping at most 1 KiB of a body for retries."""
    srv = start_server(
        server.backend, tmp_path_factory.mktemp("retrylimit"), AUTHRELAY_RETRY_BODY_LIMIT="1024"
    )
    yield srv
    srv.stop()


def _retries_metric(server: Server) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith("authrelay_proxy_upstream_retries_total "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no authrelay_proxy_upstream_retries_total in /metrics")


def _last_line(server: Server, conn: str, count: int = 1) -> dict[str, Any]:
    return proxy_lines(server, conn, count)[-1]


def _provider(
    api: httpx.Client,
    flaky: FlakyUpstream,
    conn: str,
    name: str,
    retry: dict[str, Any] | None,
) -> None:
    definition = provider_definition(name, flaky, type="BEARER")
    if retry is not None:
        definition["retry"] = retry
    enable(api, definition, conn, "r@example.com", {"token": "tok"})


def test_429_with_retry_after_seconds_then_200(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-s-{unique}"
    key = f"s{unique}"
    with server.api(dev_client) as api:
        _provider(api, flaky, conn, f"Retry Seconds {unique}", {"max_attempts": 3})
        before = _retries_metric(server)
        response = api.get(
            f"/proxy/flaky/{key}/1/429?retry_after=1", headers=proxy_headers(conn, "r@example.com")
        )
        assert response.status_code == 200, response.text
        assert response.json()["path"].startswith(f"/api/flaky/{key}/")
    assert flaky.attempts(key) == 2
    # Both attempts carried the credential and the caller's query.
    for seen in flaky.requests[-2:]:
        assert seen.header("Authorization") == "Bearer tok"
        assert seen.raw_path.endswith("?retry_after=1")
    line = _last_line(server, conn)
    assert line["status"] == 200 and line["retries"] == 1
    assert line["retry_wait_ms"] == 1000.0  # the wait Retry-After asked for
    assert _retries_metric(server) == before + 1


def test_429_with_retry_after_http_date_then_200(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-d-{unique}"
    key = f"d{unique}"
    with server.api(dev_client) as api:
        _provider(api, flaky, conn, f"Retry Date {unique}", {"max_attempts": 2})
        response = api.get(
            f"/proxy/flaky/{key}/1/429?retry_after=date%2B1",
            headers=proxy_headers(conn, "r@example.com"),
        )
        assert response.status_code == 200, response.text
    assert flaky.attempts(key) == 2
    line = _last_line(server, conn)
    # An HTTP date has whole seconds: one second ahead is a wait of at most one second.
    assert line["retries"] == 1 and 0 <= line["retry_wait_ms"] <= 1000.0


def test_503_then_200_with_backoff(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-b-{unique}"
    key = f"b{unique}"
    with server.api(dev_client) as api:
        _provider(api, flaky, conn, f"Retry Backoff {unique}", {"max_attempts": 3})
        before = _retries_metric(server)
        response = api.get(
            f"/proxy/flaky/{key}/2/503", headers=proxy_headers(conn, "r@example.com")
        )
        assert response.status_code == 200, response.text
    assert flaky.attempts(key) == 3
    line = _last_line(server, conn)
    assert line["retries"] == 2
    # No Retry-After: backoff waits at least half of 0.5 s, then of 1 s.
    assert line["retry_wait_ms"] >= 250 + 500
    assert _retries_metric(server) == before + 2


def test_max_attempts_and_on_status_respected(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-m-{unique}"
    with server.api(dev_client) as api:
        _provider(
            api,
            flaky,
            conn,
            f"Retry Max {unique}",
            {"max_attempts": 2, "on_status": [503, 500], "max_wait_seconds": 0},
        )
        # Fails 5 times; 2 attempts in all, and the last answer goes back as it is.
        response = api.get(
            f"/proxy/flaky/m{unique}/5/503", headers=proxy_headers(conn, "r@example.com")
        )
        assert response.status_code == 503 and response.json() == {"flaky": True}
        assert "x-authrelay-error" not in response.headers
        assert flaky.attempts(f"m{unique}") == 2
        assert _last_line(server, conn)["retries"] == 1
        # 500 is in this policy's on_status; 429 is not.
        ok = api.get(f"/proxy/flaky/f{unique}/1/500", headers=proxy_headers(conn, "r@example.com"))
        assert ok.status_code == 200 and flaky.attempts(f"f{unique}") == 2
        limited = api.get(
            f"/proxy/flaky/l{unique}/1/429", headers=proxy_headers(conn, "r@example.com")
        )
        assert limited.status_code == 429 and flaky.attempts(f"l{unique}") == 1
        assert "retries" not in _last_line(server, conn, 3)


def test_retry_after_beyond_max_wait_is_returned(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-w-{unique}"
    key = f"w{unique}"
    with server.api(dev_client) as api:
        _provider(
            api, flaky, conn, f"Retry Wait {unique}", {"max_attempts": 5, "max_wait_seconds": 2}
        )
        response = api.get(
            f"/proxy/flaky/{key}/1/429?retry_after=30", headers=proxy_headers(conn, "r@example.com")
        )
        assert response.status_code == 429 and response.headers["retry-after"] == "30"
    assert flaky.attempts(key) == 1


def test_only_idempotent_methods_are_retried(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-p-{unique}"
    body = b'{"order": 1}' * 10
    with server.api(dev_client) as api:
        _provider(
            api, flaky, conn, f"Retry Methods {unique}", {"max_attempts": 3, "max_wait_seconds": 0}
        )
        post = api.post(
            f"/proxy/flaky/p{unique}/1/503",
            headers=proxy_headers(conn, "r@example.com"),
            content=body,
        )
        assert post.status_code == 503 and flaky.attempts(f"p{unique}") == 1
        patch = api.patch(
            f"/proxy/flaky/a{unique}/1/503", headers=proxy_headers(conn, "r@example.com")
        )
        assert patch.status_code == 503 and flaky.attempts(f"a{unique}") == 1
        # PUT is idempotent: retried, the same body sent each time.
        put = api.put(
            f"/proxy/flaky/u{unique}/1/503",
            headers=proxy_headers(conn, "r@example.com"),
            content=body,
        )
        assert put.status_code == 200 and flaky.attempts(f"u{unique}") == 2
        sent = [r for r in flaky.requests if f"/flaky/u{unique}/" in r.raw_path]
        assert [r.body for r in sent] == [body, body]
        for method in ("DELETE", "HEAD", "OPTIONS"):
            key = f"{method.lower()}{unique}"
            answer = api.request(
                method, f"/proxy/flaky/{key}/1/503", headers=proxy_headers(conn, "r@example.com")
            )
            assert answer.status_code == 200, method
            assert flaky.attempts(key) == 2, method


def test_no_policy_means_one_attempt(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        for n, retry in enumerate((None, {"max_attempts": 1})):
            conn = f"retry-n{n}-{unique}"
            _provider(api, flaky, conn, f"Retry None {n} {unique}", retry)
            key = f"n{n}{unique}"
            response = api.get(
                f"/proxy/flaky/{key}/1/503", headers=proxy_headers(conn, "r@example.com")
            )
            assert response.status_code == 503 and flaky.attempts(key) == 1


def test_bodies_over_the_retry_body_limit_are_sent_once(
    small_limit_server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    conn = f"retry-l-{unique}"
    with small_limit_server.api(dev_client) as api:
        _provider(
            api, flaky, conn, f"Retry Limit {unique}", {"max_attempts": 2, "max_wait_seconds": 0}
        )
        big = api.put(
            f"/proxy/flaky/big{unique}/1/503",
            headers=proxy_headers(conn, "r@example.com"),
            content=b"x" * 2048,
        )
        assert big.status_code == 503 and flaky.attempts(f"big{unique}") == 1
        small = api.put(
            f"/proxy/flaky/small{unique}/1/503",
            headers=proxy_headers(conn, "r@example.com"),
            content=b"x" * 1024,
        )
        assert small.status_code == 200 and flaky.attempts(f"small{unique}") == 2


def test_retry_policy_validation_names_every_field(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(f"Retry Bad {unique}", flaky, type="BEARER")
        definition["retry"] = {
            "max_attempts": 6,
            "on_status": [200, 503],
            "max_wait_seconds": -1,
            "jitter": True,
        }
        response = api.post("/api/v1/custom-providers", json=definition)
        assert response.status_code == 400
        fields = {v["field"] for v in response.json()["details"][0]["field_violations"]}
        assert fields == {
            "retry.max_attempts",
            "retry.on_status[0]",
            "retry.max_wait_seconds",
            "retry.jitter",
        }
        definition["retry"] = {"max_attempts": 0, "on_status": []}
        response = api.post("/api/v1/custom-providers", json=definition)
        fields = {v["field"] for v in response.json()["details"][0]["field_violations"]}
        assert fields == {"retry.max_attempts", "retry.on_status"}
        # Defaults fill in what is left out, and the provider shows the policy as given.
        definition["retry"] = {"max_attempts": 2}
        created = api.post("/api/v1/custom-providers", json=definition)
        assert created.status_code == 201, created.text
        assert created.json()["provider"]["retry"] == {"max_attempts": 2}
