"""The gateway end to end: grpcio's client (what Scalekit's Python SDK uses) over h2c to a
real server process (tests/conftest.py's session server), with the SDK's own messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_status import rpc_status

from tests.support.proxy import enable
from tests.support.scalekit_messages import CA, PROVIDERS, TOOLS, ca, error_info, exceptions, pv, tl
from tests.support.servers import Server
from tests.support.tools import status_tool
from tests.support.upstream import RecordingUpstream, provider_definition


@pytest.fixture(scope="module")
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as made:
        yield made


@pytest.fixture(scope="module")
def bearer(server: Server, dev_client: dict[str, str]) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {server.token(dev_client)}")]


def unary(channel: grpc.Channel, path: str, response: Any) -> Any:
    return channel.unary_unary(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )


def test_list_providers(channel: grpc.Channel, bearer: list[tuple[str, str]]) -> None:
    listed = unary(channel, PROVIDERS + "ListProviders", pv.ListProvidersResponse)(
        pv.ListProvidersRequest(identifier="github"), metadata=bearer, timeout=20
    )
    assert [p.identifier for p in listed.providers] == ["github"]
    assert listed.providers[0].display_name == "GitHub"


def test_create_and_list_accounts(
    server: Server,
    dev_client: dict[str, str],
    channel: grpc.Channel,
    bearer: list[tuple[str, str]],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(f"Real {unique}", upstream, type="API_KEY")
        enable(api, definition, f"real-{unique}", "first", {"api_key": "k1"})
    details = struct_pb2.Struct()
    details.update({"api_key": "k2"})
    created = unary(channel, CA + "CreateConnectedAccount", ca.CreateConnectedAccountResponse)(
        ca.CreateConnectedAccountRequest(
            connector=f"real-{unique}",
            identifier="second",
            connected_account=ca.CreateConnectedAccount(
                authorization_details=ca.AuthorizationDetails(
                    static_auth=ca.StaticAuth(details=details)
                )
            ),
        ),
        metadata=bearer + bearer,  # the SDK sends its token twice
        timeout=20,
    )
    assert created.connected_account.identifier == "second"
    assert created.connected_account.status == ca.ACTIVE
    listed = unary(channel, CA + "ListConnectedAccounts", ca.ListConnectedAccountsResponse)(
        ca.ListConnectedAccountsRequest(connector=f"real-{unique}"), metadata=bearer, timeout=20
    )
    assert sorted(a.identifier for a in listed.connected_accounts) == ["first", "second"]


def test_not_found_with_details(channel: grpc.Channel, bearer: list[tuple[str, str]]) -> None:
    get = unary(
        channel, CA + "GetConnectedAccountDetails", ca.GetConnectedAccountByIdentifierResponse
    )
    with pytest.raises(grpc.RpcError) as raised:
        get(
            ca.GetConnectedAccountByIdentifierRequest(connector="no-such", identifier="x"),
            metadata=bearer,
            timeout=20,
        )
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(error)  # raises when the details disagree with the call
    assert status is not None and status.message == error.details()
    assert error_info(status).error_code == "NOT_FOUND"


def test_unauthenticated(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        unary(channel, CA + "ListConnectedAccounts", ca.ListConnectedAccountsResponse)(
            ca.ListConnectedAccountsRequest(), timeout=20
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_unimplemented_names_the_method(
    channel: grpc.Channel, bearer: list[tuple[str, str]]
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        unary(channel, "/scalekit.v1.nothing.Service/Call", pv.ListProvidersResponse)(
            pv.ListProvidersRequest(), metadata=bearer, timeout=20
        )
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "scalekit.v1.nothing.Service/Call" in error.details()


def test_tool_error_selects_the_sdks_tool_exception(
    server: Server,
    dev_client: dict[str, str],
    channel: grpc.Channel,
    bearer: list[tuple[str, str]],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    """An upstream's 429 to execute_tool, read by the Python SDK's own error handling."""
    with server.api(dev_client) as api:
        definition = provider_definition(f"Rate {unique}", upstream, type="API_KEY")
        enable(api, definition, f"rate-{unique}", "user", {"api_key": "k"})
        made = api.post("/api/v1/tools", json=status_tool(f"rate{unique}", "rate_status"))
        assert made.status_code == 201, made.text
    params = struct_pb2.Struct()
    params.update({"code": 429})
    execute = unary(channel, TOOLS + "ExecuteTool", tl.ExecuteToolResponse)
    with pytest.raises(grpc.RpcError) as raised:
        execute(
            tl.ExecuteToolRequest(
                tool_name="rate_status",
                identifier="user",
                connector=f"rate-{unique}",
                params=params,
            ),
            metadata=bearer,
            timeout=60,
        )
    promoted = exceptions.ScalekitServerException.promote(raised.value)
    assert isinstance(promoted, exceptions.ScalekitToolRateLimitException)
    assert promoted.error_code == "TOOL_ERROR"
    assert promoted.tool_error_code == "429"
