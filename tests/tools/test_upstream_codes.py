"""An upstream's error status gets the google.rpc code that authrelay's own answers (and the
SDK) give the same status: one mapping, `authrelay_client.codes.Code`."""

from __future__ import annotations

import httpx

from authrelay_client._exceptions import AlreadyExistsError, api_error
from authrelay_client.codes import Code
from tests.support.servers import Server
from tests.support.tools import setup_provider, tool_body
from tests.support.upstream import RecordingUpstream


def _status_tool(provider: str, name: str) -> dict[str, object]:
    return tool_body(
        provider,
        name,
        method="GET",
        path="/status/{code}",
        params={"code": {"in": "path"}},
        input_schema={
            "type": "object",
            "properties": {"code": {"type": "integer"}},
            "required": ["code"],
        },
    )


def _call(api: httpx.Client, name: str, code: int) -> httpx.Response:
    call = {"tool_name": name, "params": {"code": code}, "identifier": "bob"}
    return api.post("/api/v1/execute_tool", json=call)


def test_an_upstream_409_has_the_code_of_the_api_409(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, _, _ = setup_provider(api, upstream, unique, "bob")
        name = f"status_{unique}"
        assert api.post("/api/v1/tools", json=_status_tool(provider, name)).status_code == 201
        taken = api.post("/api/v1/tools", json=_status_tool(provider, name))
        assert taken.status_code == 409
        api_code = taken.json()["code"]

        conflict = _call(api, name, 409)
        assert conflict.status_code == 409
        assert conflict.json()["code"] == api_code == Code.ALREADY_EXISTS
        assert isinstance(api_error(409, conflict.json()), AlreadyExistsError)

        # every other status the same way; an upstream's 5xx is a 502 (UNAVAILABLE but for
        # 501 and 504), never authrelay's INTERNAL
        for status, code in [
            (404, Code.NOT_FOUND),
            (405, Code.UNIMPLEMENTED),
            (418, Code.INVALID_ARGUMENT),
            (429, Code.RESOURCE_EXHAUSTED),
            (500, Code.UNAVAILABLE),
            (501, Code.UNIMPLEMENTED),
            (504, Code.DEADLINE_EXCEEDED),
        ]:
            answer = _call(api, name, status)
            assert answer.status_code == (status if status < 500 else 502), answer.text
            assert answer.json()["code"] == code, (status, answer.json())
