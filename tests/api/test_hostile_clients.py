"""Hostile and naive clients against the real server process: bodies cut off mid-way, bodies
too large for the limit, validation errors by the hundred thousand, and the files the
server leaves on disk."""

from __future__ import annotations

import json
import re
import socket
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import Backend, Server, start_server

_SAMPLE = re.compile(r"^authrelay_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def _request_counts(server: Server, route: str) -> dict[str, float]:
    """`authrelay_http_requests_total` samples of one route, by status."""
    text = httpx.get(f"{server.url}/metrics").text
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and f'route="{route}"' in match["labels"]:
            status = re.search(r'status="(\d+)"', match["labels"])
            assert status is not None
            out[status[1]] = out.get(status[1], 0.0) + float(match["value"])
    return out


def _wait_for(condition: object, what: str) -> None:
    """Poll until `condition()` holds (the server handles a disconnect asynchronously)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def _log_lines(server: Server, since: int) -> list[dict[str, object]]:
    lines = []
    for raw in server.log_text()[since:].splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"level": "raw", "msg": raw})
    return lines


@pytest.mark.parametrize(
    ("target", "route", "content_type"),
    [
        ("/oauth/token", "/oauth/token", "application/x-www-form-urlencoded"),
        ("/api/v1/custom-providers", "/api/v1/custom-providers", "application/json"),
    ],
)
def test_disconnect_mid_body_is_a_499_at_info(
    server: Server, dev_client: dict[str, str], target: str, route: str, content_type: str
) -> None:
    token_start = len(server.log_text())
    token = server.token(dev_client)
    # The token request's access line can reach the log after its answer: wait for it, so
    # that it is not taken for a line of the request under test.
    _wait_for(
        lambda: '"path": "/oauth/token"' in server.log_text()[token_start:],
        "the token request's access line",
    )
    before = _request_counts(server, route)
    log_start = len(server.log_text())
    head = (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + b"0123456789")
        time.sleep(0.2)  # let the server start reading the body before the client leaves
    _wait_for(
        lambda: _request_counts(server, route).get("499", 0) > before.get("499", 0),
        "the disconnect to be counted as 499",
    )
    after = _request_counts(server, route)
    assert after.get("500", 0) == before.get("500", 0)
    lines = _log_lines(server, log_start)
    assert not [line for line in lines if line.get("level") in {"error", "raw"}], lines
    assert "Traceback" not in server.log_text()[log_start:]
    access = [line for line in lines if line.get("path") == target]
    assert [line["status"] for line in access] == [499]
    assert access[0]["level"] == "info"


def test_naive_client_gets_the_413_for_a_large_body(
    server: Server, dev_client: dict[str, str]
) -> None:
    """urllib writes the whole body before it reads the answer: the server must read (and
    drop) the body rather than close on it, or urllib sees a connection reset."""
    token = server.token(dev_client)
    body = b'{"description": "' + b"x" * 12_000_000 + b'"}'
    request = urllib.request.Request(
        f"{server.url}/api/v1/custom-providers",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 413
    error = json.loads(caught.value.read())
    caught.value.close()
    assert error["code"] == 3
    assert error["details"][0]["field_violations"][0]["field"] == "body"


def test_naive_client_gets_the_413_for_a_large_chunked_body(
    server: Server, dev_client: dict[str, str]
) -> None:
    """The same without Content-Length: the body is counted as it comes."""
    token = server.token(dev_client)

    def chunks() -> Iterator[bytes]:
        for _ in range(192):  # 12 MiB
            yield b"x" * 65536

    request = urllib.request.Request(
        f"{server.url}/api/v1/custom-providers",
        data=chunks(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    caught.value.close()
    assert caught.value.code == 413


def test_database_and_data_dir_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"  # created by the server itself
    srv = start_server(Backend("sqlite", data_dir), tmp_path)
    try:
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = ["authrelay.db", "authrelay.db-wal", "authrelay.db-shm", "master.keys"]
        modes = {name: stat.S_IMODE((data_dir / name).stat().st_mode) for name in files}
        assert modes == dict.fromkeys(files, 0o600)
    finally:
        srv.stop()


def test_database_files_left_open_by_an_older_version_are_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "authrelay.db").touch(mode=0o644)
    (data_dir / "authrelay.db").chmod(0o644)
    srv = start_server(Backend("sqlite", data_dir), tmp_path)
    try:
        for name in ("authrelay.db", "authrelay.db-wal", "authrelay.db-shm"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    finally:
        srv.stop()


def _flood(n: int) -> dict[str, int]:
    return {f"k{i}": 1 for i in range(n)}


@pytest.mark.parametrize(
    ("target", "body", "total"),
    [
        ("/api/v1/custom-providers", _flood(90_000), 90_000),
        (
            "/api/v1/custom-providers",
            {
                "display_name": "x",
                "proxy_url": "https://a.example",
                "auth_patterns": [{"type": "API_KEY", **_flood(60_000)}],
            },
            60_000,
        ),
        ("/api/v1/custom-providers", {"display_name": "x", "metadata": _flood(90_000)}, None),
        ("/api/v1/connected_accounts", _flood(90_000), 90_000),
        ("/api/v1/connections", _flood(90_000), 90_000),
    ],
    ids=["top-level", "nested", "oversized-map", "accounts", "connections"],
)
def test_validation_errors_are_bounded(
    server: Server, dev_client: dict[str, str], target: str, body: object, total: int | None
) -> None:
    with server.api(dev_client) as api:
        response = api.post(target, content=json.dumps(body, separators=(",", ":")))
        assert response.status_code == 400, response.text[:500]
        assert len(response.content) < 65536
        violations = response.json()["details"][0]["field_violations"]
        assert len(violations) <= 101
        if total is not None:
            assert len(violations) == 101
            assert violations[0] == {"field": "k0", "description": "unknown field 'k0'"} or (
                violations[0]["field"].endswith(".k0")
            )
            assert violations[-1]["description"] == f"{total - 100} more violations are not listed"
        else:
            assert {"field": "metadata", "description": "must have at most 20 items"} in violations
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_one_huge_key_cannot_blow_up_the_answer(server: Server, dev_client: dict[str, str]) -> None:
    key = "k" * 400_000
    with server.api(dev_client) as api:
        for raw in (
            json.dumps({key: 1}),  # an unknown field named by the key
            f'{{"{key}": 1, "{key}": 2}}',  # a repeated key, named in the parse error
        ):
            response = api.post("/api/v1/custom-providers", content=raw)
            assert response.status_code == 400
            assert len(response.content) < 65536
            fields = [v["field"] for v in response.json()["details"][0]["field_violations"]]
            assert key[:199] + "…" in fields or fields == ["body"]
