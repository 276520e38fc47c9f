"""execute_tool refuses what /proxy refuses (proxy.guard): encoded dot segments in a path
input, and headers the HTTP client sets itself, each named, with nothing sent upstream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authrelay.proxy.guard import PathRejected, check_filled_path, check_path
from tests.support.servers import Server
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream

# Each is refused by /proxy (tests/proxy/test_hostile.py); as a path input it is sent
# percent-encoded once more, which an upstream that decodes twice reads as '..' or '\'.
ESCAPES = [
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    ".%2E",
    "%2e.",
    "..;",
    "..;x=1",
    "%5c..%5c",
    "%5C..%5C",
    "/%2e%2e/",
    "/.%2e/",
    "/..;/",
    "a/%2e%2e/b",
]


def _execute(api: httpx.Client, name: str, params: dict[str, Any], who: str) -> httpx.Response:
    return api.post(
        "/api/v1/execute_tool", json={"tool_name": name, "params": params, "identifier": who}
    )


def _refused_fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3  # INVALID_ARGUMENT, in the SPEC §2 envelope
    return {v["field"] for v in body["details"][0]["field_violations"]}


@pytest.mark.parametrize("value", ESCAPES)
def test_an_encoded_escape_in_a_path_input_is_refused_and_nothing_is_sent(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str, value: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "eve")
        name = f"items_{unique}"
        assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
        upstream.clear()
        refused = _execute(api, name, {"owner": value}, "eve")
        assert _refused_fields(refused) == {"params.owner"}
        assert upstream.requests == []
        # the same tool with a plain value (spaces and an encoded slash included) is sent
        sent = _execute(api, name, {"owner": "a b/c.d"}, "eve")
        assert sent.status_code == 200, sent.text
        assert [r.raw_path for r in upstream.requests] == ["/api/owners/a%20b%2Fc.d/items"]


@pytest.mark.parametrize("header", ["Host", "Transfer-Encoding", "Connection", "Content-Length"])
def test_a_header_input_the_client_sets_itself_is_refused(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    header: str,
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "eve")
        name = f"hdr_{unique}"
        params = {
            "owner": {"in": "path"},
            "title": {"in": "header", "name": header},
            "trace": {"in": "header", "name": "X-Trace"},
        }
        created = api.post("/api/v1/tools", json=tool_body(provider, name, params=params))
        assert created.status_code == 201, created.text
        upstream.clear()
        value = {"Content-Length": "0", "Transfer-Encoding": "chunked"}.get(header, "evil.test")
        refused = _execute(api, name, {"owner": "o", "title": value, "trace": "t"}, "eve")
        assert _refused_fields(refused) == {"params.title"}
        assert header in refused.text
        assert upstream.requests == []
        # without that input the call goes through, with the ordinary header input
        sent = _execute(api, name, {"owner": "o", "trace": "t1"}, "eve")
        assert sent.status_code == 200, sent.text
        assert len(upstream.requests) == 1
        assert upstream.requests[0].header("X-Trace") == "t1"
        assert upstream.requests[0].header("Host") == f"127.0.0.1:{upstream.port}"


def test_the_tools_own_path_and_fixed_headers_are_named(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """A binding path that holds an encoded escape, or a fixed header the client sets, is
    refused at every call, naming the binding's field."""
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "eve")
        escaping = tool_body(provider, f"esc_{unique}", path="/%2e%2e/admin/{owner}")
        framed = tool_body(provider, f"framed_{unique}", headers={"Transfer-Encoding": "chunked"})
        for body in (escaping, framed):
            created = api.post("/api/v1/tools", json=body)
            assert created.status_code == 201, created.text
        upstream.clear()
        assert _refused_fields(_execute(api, f"esc_{unique}", {"owner": "o"}, "eve")) == {
            "binding.path"
        }
        assert _refused_fields(_execute(api, f"framed_{unique}", {"owner": "o"}, "eve")) == {
            "binding.headers.Transfer-Encoding"
        }
        assert upstream.requests == []


@pytest.mark.parametrize(
    "path",
    ["a/%252e%252e/b", "a/.%252E/b", "a/..%253B/b", "a/%255c..%255c/b", "a/%09/b", "a/%2F/b"],
)
def test_a_filled_path_is_held_to_the_proxys_rules(path: str) -> None:
    """check_filled_path refuses what check_path refuses; only a space passes, which
    check_path refuses."""
    with pytest.raises(PathRejected):
        check_path(path)
    with pytest.raises(PathRejected):
        check_filled_path(path)


def test_a_filled_path_may_hold_spaces() -> None:
    assert check_filled_path("owners/a%20b%2Fc/items") == "owners/a%20b%2Fc/items"
    with pytest.raises(PathRejected):
        check_path("owners/a%20b%2Fc/items")
