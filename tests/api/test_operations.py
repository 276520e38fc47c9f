"""Health, readiness, metrics, the OpenAPI document, the first-start banner, and secrets
kept out of the log."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import new_backend
from tests.support.servers import Backend, Server, start_server


def test_health_ready_metrics_openapi(server: Server, dev_client: dict[str, str]) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json()["database"] == "ok"
    server.token(dev_client)
    # The server counts a request after its answer is sent: the count may come a moment later.
    sample = 'authrelay_http_requests_total{method="POST",route="/oauth/token",status="200"}'
    deadline = time.monotonic() + 30
    while sample not in (metrics := httpx.get(f"{server.url}/metrics").text):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.05)
    spec = httpx.get(f"{server.url}/openapi.json").json()
    for path in (
        "/oauth/token",
        "/keys",
        "/api/v1/providers",
        "/api/v1/custom-providers",
        "/api/v1/custom-providers/{identifier}",
        "/api/v1/audit-logs",
    ):
        assert path in spec["paths"], path


def test_first_start_banner(backend: Backend, tmp_path: Path) -> None:
    # A store of its own: the session's store may have been started by another test's
    # server first (the parallel workers take the tests in any order).
    server = start_server(new_backend(backend.name, tmp_path / "data"), tmp_path)
    try:
        log = server.log_text()
        assert "Created environments: dev, production" in log
        assert f"Environment dev: {server.url}" in log
        assert "authrelay env create-client dev" in log
    finally:
        server.stop()


def test_secrets_never_reach_the_log(server: Server, dev_client: dict[str, str]) -> None:
    token = server.token(dev_client)
    httpx.get(
        f"{server.url}/api/v1/providers?page_size=1", headers={"Authorization": f"Bearer {token}"}
    )
    httpx.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dev_client["client_id"],
            "client_secret": dev_client["client_secret"] + "x",
        },
    )
    log = server.log_text()
    assert dev_client["client_secret"] not in log
    assert token not in log and token.split(".")[2] not in log
    with server.api(dev_client) as api:
        audit = api.get("/api/v1/audit-logs", params={"page_size": 1000}).text
    assert dev_client["client_secret"] not in audit and token not in audit
