"""execute_tool through a provider that uses auth_query_param, proxy_headers and retry:
tool calls go through the same proxy core as /proxy and get the same treatment."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.flaky_upstream import FlakyUpstream
from tests.support.proxy import enable
from tests.support.servers import Server
from tests.support.tools import tool_body
from tests.support.upstream import provider_definition


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakyUpstream]:
    server = FlakyUpstream().start()
    yield server
    server.stop()


def test_tool_call_with_query_key_headers_and_retry(
    server: Server, dev_client: dict[str, str], flaky: FlakyUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(
            f"Tools Ext {unique}",
            flaky,
            type="API_KEY",
            fields=[
                {"field_name": "api_key", "input_type": "password"},
                {"field_name": "app_id"},
            ],
            auth_query_param="key",
            proxy_headers={"X-App-Id": "{{app_id}}"},
        )
        definition["proxy_headers"] = {"Api-Version": "2024-01-01"}
        definition["retry"] = {"max_attempts": 2, "max_wait_seconds": 0}
        conn = f"toolsext-{unique}"
        enable(api, definition, conn, "t@example.com", {"api_key": "k/1", "app_id": "a-9"})
        body = tool_body(
            f"toolsext{unique}",
            f"flaky_{unique}",
            method="GET",
            path=f"/flaky/t{unique}/1/503",
            params={"owner": {"in": "query", "name": "owner"}},
        )
        created = api.post("/api/v1/tools", json=body)
        assert created.status_code == 201, created.text
        response = api.post(
            "/api/v1/execute_tool",
            json={
                "tool_name": f"flaky_{unique}",
                "params": {"owner": "o"},
                "identifier": "t@example.com",
                "connector": conn,
            },
        )
        assert response.status_code == 200, response.text
    assert flaky.attempts(f"t{unique}") == 2
    for seen in flaky.requests[-2:]:
        query = parse_qsl(urlsplit(seen.raw_path).query)
        assert query == [("owner", "o"), ("key", "k/1")]
        assert seen.header("X-App-Id") == "a-9" and seen.header("Api-Version") == "2024-01-01"
        assert seen.header("Authorization") is None
