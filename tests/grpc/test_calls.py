"""gRPC calls as Scalekit's SDKs make them (their own generated messages), answered through
the gateway by authrelay's REST operations: providers, connections, connected accounts and
tools end to end, with a recording upstream receiving the account's credential."""

from __future__ import annotations

import time

import pytest
from google.protobuf import duration_pb2, struct_pb2
from google.rpc import error_details_pb2

from tests.support.grpc_asgi import InProcessApp, call, frame, status_of, unframe
from tests.support.scalekit_messages import (
    CA,
    CONNECTIONS,
    MCP,
    PROVIDERS,
    TOOLS,
    ca,
    cn,
    error_info,
    mcp,
    pv,
    tl,
)
from tests.support.servers import Backend, create_client
from tests.support.upstream import RecordingUpstream, provider_definition


def test_list_providers(inproc: InProcessApp, token: str, setup: dict[str, str]) -> None:
    listed = call(
        inproc,
        PROVIDERS + "ListProviders",
        pv.ListProvidersRequest(identifier="github"),
        token,
        pv.ListProvidersResponse,
    )
    (github,) = listed.providers
    assert github.auth_patterns.values[0].struct_value.fields["type"].string_value == "OAUTH"
    custom = call(  # a nested field as a query parameter: filter.provider_type=CUSTOM
        inproc,
        PROVIDERS + "ListProviders",
        pv.ListProvidersRequest(
            filter=pv.ListProvidersRequest.Filter(provider_type=pv.CUSTOM), page_size=50
        ),
        token,
        pv.ListProvidersResponse,
    )
    assert [p.identifier for p in custom.providers] == [setup["provider"]]
    assert custom.providers[0].is_custom


def test_list_and_get_accounts(inproc: InProcessApp, token: str, setup: dict[str, str]) -> None:
    listed = call(
        inproc,
        CA + "ListConnectedAccounts",
        ca.ListConnectedAccountsRequest(connector="grpc-tools"),
        token,
        ca.ListConnectedAccountsResponse,
    )
    assert [a.identifier for a in listed.connected_accounts] == ["user-1"]
    assert listed.connected_accounts[0].status == ca.ACTIVE
    assert listed.connected_accounts[0].updated_at.seconds > 0
    assert listed.total_size == 1
    got = call(
        inproc,
        CA + "GetConnectedAccountAuth",
        ca.GetConnectedAccountByIdentifierRequest(connector="grpc-tools", identifier="user-1"),
        token,
        ca.GetConnectedAccountByIdentifierResponse,
    )
    assert got.connected_account.id == setup["account"]
    static = got.connected_account.authorization_details.static_auth.details
    assert static.fields["api_key"].string_value == "grpc-secret-1"


def test_execute_tool_reaches_the_upstream(
    inproc: InProcessApp, token: str, setup: dict[str, str], upstream: RecordingUpstream
) -> None:
    params = struct_pb2.Struct()
    params.update({"owner": "octo", "limit": 5})
    upstream.clear()
    result = call(
        inproc,
        TOOLS + "ExecuteTool",
        tl.ExecuteToolRequest(
            tool_name="grpc_items", identifier="user-1", connector="grpc-tools", params=params
        ),
        token,
        tl.ExecuteToolResponse,
    )
    assert result.execution_id
    assert result.data.fields["path"].string_value == "/api/owners/octo/items?per_page=5"
    (seen,) = upstream.requests
    assert seen.header("X-Api-Key") == "grpc-secret-1"


@pytest.mark.parametrize(
    ("upstream_status", "code"), [(404, 5), (401, 16), (403, 7), (429, 8), (500, 14)]
)
def test_tool_error_carries_tool_error(
    inproc: InProcessApp, token: str, setup: dict[str, str], upstream_status: int, code: int
) -> None:
    params = struct_pb2.Struct()
    params.update({"code": upstream_status})
    request = tl.ExecuteToolRequest(
        tool_name="grpc_status", identifier="user-1", connector="grpc-tools", params=params
    )
    answer = inproc.grpc(TOOLS + "ExecuteTool", frame(request.SerializeToString()), token=token)
    assert answer.grpc_status == code
    status = status_of(answer)
    info = error_info(status)
    assert info.error_code == "TOOL_ERROR"
    assert info.tool_error_info.tool_error_code == str(upstream_status)
    assert "upstream_error" in info.tool_error_info.tool_error_message
    own = struct_pb2.Struct()
    assert status.details[1].Unpack(own)
    assert own.fields["status"].number_value == upstream_status


def test_unknown_account_is_not_found(inproc: InProcessApp, token: str, setup: None) -> None:
    request = ca.GetConnectedAccountByIdentifierRequest(connector="grpc-tools", identifier="nobody")
    answer = inproc.grpc(
        CA + "GetConnectedAccountDetails", frame(request.SerializeToString()), token=token
    )
    assert answer.grpc_status == 5
    assert error_info(status_of(answer)).error_code == "NOT_FOUND"


def test_bad_input_lists_the_field(inproc: InProcessApp, token: str, setup: None) -> None:
    params = struct_pb2.Struct()
    params.update({"owner": 7})
    request = tl.ExecuteToolRequest(
        tool_name="grpc_items", identifier="user-1", connector="grpc-tools", params=params
    )
    answer = inproc.grpc(TOOLS + "ExecuteTool", frame(request.SerializeToString()), token=token)
    assert answer.grpc_status == 3
    status = status_of(answer)
    assert error_info(status).error_code == "INVALID_ARGUMENT"
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    assert bad.field_violations and "owner" in bad.field_violations[0].field


@pytest.mark.parametrize("bearer", [None, "not-a-token"])
def test_unauthenticated(inproc: InProcessApp, bearer: str | None) -> None:
    request = ca.ListConnectedAccountsRequest()
    answer = inproc.grpc(
        CA + "ListConnectedAccounts", frame(request.SerializeToString()), token=bearer
    )
    assert answer.grpc_status == 16
    assert error_info(status_of(answer)).error_code == "UNAUTHENTICATED"


def test_authorization_sent_twice(inproc: InProcessApp, token: str, setup: None) -> None:
    """Scalekit's Python SDK sends its token twice (call credentials and metadata); after it
    renewed the token, the two differ and the renewed one is the one that works."""
    request = ca.ListConnectedAccountsRequest(connector="grpc-tools")
    for first in (token, "expired-or-old"):
        answer = inproc.grpc(
            CA + "ListConnectedAccounts",
            frame(request.SerializeToString()),
            token=first,
            headers=[("authorization", f"Bearer {token}")],
        )
        assert answer.grpc_status == 0, answer.grpc_message
        listed = ca.ListConnectedAccountsResponse.FromString(unframe(answer.body))
        assert [a.identifier for a in listed.connected_accounts] == ["user-1"]


def test_connections_tools_and_mcp(inproc: InProcessApp, token: str, setup: dict[str, str]) -> None:
    """The other methods the SDKs call, each answer read back into its message."""
    listed = call(
        inproc,
        CONNECTIONS + "ListAppConnections",
        cn.ListAppConnectionsRequest(page_size=30),
        token,
        cn.ListAppConnectionsResponse,
    )
    (mine,) = [c for c in listed.connections if c.key_id == "grpc-tools"]
    toggled = call(
        inproc,
        CONNECTIONS + "DisableEnvironmentConnection",
        cn.ToggleEnvironmentConnectionRequest(connection_id=mine.id),
        token,
        cn.ToggleConnectionResponse,
    )
    assert not toggled.enabled
    toggled = call(
        inproc,
        CONNECTIONS + "EnableEnvironmentConnection",
        cn.ToggleEnvironmentConnectionRequest(connection_id=mine.id),
        token,
        cn.ToggleConnectionResponse,
    )
    assert toggled.enabled
    got = call(
        inproc,
        CONNECTIONS + "GetEnvironmentConnection",
        cn.GetEnvironmentConnectionRequest(connection_id=mine.id),
        token,
        cn.GetConnectionResponse,
    )
    assert got.connection.type == cn.API_KEY and got.connection.create_time.seconds > 0
    link = call(
        inproc,
        CA + "GetMagicLinkForConnectedAccount",
        ca.GetMagicLinkForConnectedAccountRequest(connector="grpc-tools", identifier="user-9"),
        token,
        ca.GetMagicLinkForConnectedAccountResponse,
    )
    assert "/connect/" in link.link and link.expiry.seconds > 0
    tools = call(
        inproc,
        TOOLS + "ListTools",
        tl.ListToolsRequest(filter=tl.Filter(provider=setup["provider"])),
        token,
        tl.ListToolsResponse,
    )
    names = {t.definition.fields["name"].string_value for t in tools.tools}
    assert {"grpc_items", "grpc_status", "grpc_slow"} <= names
    scoped = call(
        inproc,
        TOOLS + "ListScopedTools",
        tl.ListScopedToolsRequest(
            identifier="user-1", filter=tl.ScopedToolFilter(connection_names=["grpc-tools"])
        ),
        token,
        tl.ListScopedToolsResponse,
    )
    assert {t.tool.definition.fields["name"].string_value for t in scoped.tools} == names
    config = call(
        inproc,
        MCP + "CreateMcpConfig",
        mcp.CreateMcpConfigRequest(
            config=mcp.McpConfig(
                name="grpccfg",
                connection_tool_mappings=[
                    mcp.McpConfigConnectionToolMapping(
                        connection_name="grpc-tools", tools=["grpc_items"]
                    )
                ],
            )
        ),
        token,
        mcp.CreateMcpConfigResponse,
    ).config
    assert config.id and config.connection_tool_mappings[0].tools == ["grpc_items"]
    session = call(
        inproc,
        MCP + "CreateMcpSessionToken",
        mcp.CreateMcpSessionTokenRequest(
            mcp_config_id=config.id, identifier="user-1", expiry=duration_pb2.Duration(seconds=600)
        ),
        token,
        mcp.CreateMcpSessionTokenResponse,
    )
    assert session.token.count(".") == 2
    assert 500 < session.expires_at.seconds - time.time() <= 600
    accounts = call(
        inproc,
        MCP + "ListMcpConnectedAccounts",
        mcp.ListMcpConnectedAccountsRequest(config_id=config.id, identifier="user-1"),
        token,
        mcp.ListMcpConnectedAccountsResponse,
    )
    assert [a.connected_account_status for a in accounts.connected_accounts] == ["ACTIVE"]
    call(
        inproc,
        MCP + "DeleteMcpConfig",
        mcp.DeleteMcpConfigRequest(config_id=config.id),
        token,
        mcp.DeleteMcpConfigResponse,
    )
    gone = inproc.grpc(
        MCP + "GetMcpConfig",
        frame(mcp.GetMcpConfigRequest(config_id=config.id).SerializeToString()),
        token=token,
    )
    assert gone.grpc_status == 5  # a resource authrelay lacks: NOT_FOUND, not UNIMPLEMENTED


def test_an_upstream_401_is_not_retried_with_the_other_token(
    inproc: InProcessApp, token: str, setup: dict[str, str], upstream: RecordingUpstream
) -> None:
    """Two valid tokens (the SDK after renewing its token): an upstream's 401 to the tool
    is the tool's answer, and the tool runs once."""
    other = inproc.token(create_client(Backend("sqlite", inproc.settings.data_dir)))
    params = struct_pb2.Struct()
    params.update({"code": 401})
    request = tl.ExecuteToolRequest(
        tool_name="grpc_status", identifier="user-1", connector="grpc-tools", params=params
    )
    upstream.clear()
    answer = inproc.grpc(
        TOOLS + "ExecuteTool",
        frame(request.SerializeToString()),
        token=token,
        headers=[("authorization", f"Bearer {other}")],
    )
    assert answer.grpc_status == 16
    assert error_info(status_of(answer)).error_code == "TOOL_ERROR"
    assert len(upstream.requests) == 1


def test_select_options_are_objects_over_grpc(
    inproc: InProcessApp, token: str, upstream: RecordingUpstream
) -> None:
    """Scalekit's messages carry each select option as an object (its SDK reads them so);
    authrelay keeps the value: objects sent are stored as values, values answered as objects."""
    definition = provider_definition("Grpc Regions", upstream, type="API_KEY")
    region = {"field_name": "region", "label": "Region", "input_type": "select"}
    region["options"] = [{"value": "eu", "display_name": "Europe"}, "us"]
    definition["auth_patterns"][0]["fields"].append(region)
    provider = pv.CreateCustomProvider(
        display_name=definition["display_name"], proxy_url=definition["proxy_url"]
    )
    provider.auth_patterns.extend(definition["auth_patterns"])
    call(
        inproc,
        PROVIDERS + "CreateCustomProvider",
        pv.CreateCustomProviderRequest(provider=provider),
        token,
        pv.CreateProviderResponse,
    )
    listed = call(
        inproc,
        PROVIDERS + "ListProviders",
        pv.ListProvidersRequest(identifier="grpcregions"),
        token,
        pv.ListProvidersResponse,
    )
    (found,) = listed.providers
    fields = found.auth_patterns.values[0].struct_value.fields["fields"].list_value.values
    options = fields[-1].struct_value.fields["options"].list_value.values
    assert [dict(o.struct_value.fields.items()) for o in options] == [
        {
            "value": struct_pb2.Value(string_value=v),
            "display_name": struct_pb2.Value(string_value=v),
        }
        for v in ("eu", "us")
    ]
