"""The gRPC gateway's tests share one in-process application per test module on a store of
its own, a token of its `dev` environment, and (made over gRPC) a provider on a recording
upstream with a connection, an account and tools."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from google.protobuf import struct_pb2

from tests.support.grpc_asgi import InProcessApp, call
from tests.support.scalekit_messages import CA, CONNECTIONS, PROVIDERS, ca, cn, pv
from tests.support.servers import Backend, create_client
from tests.support.tools import status_tool, tool_body
from tests.support.upstream import RecordingUpstream, provider_definition


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    backend = Backend("sqlite", tmp_path_factory.mktemp("grpc-data"))
    app = InProcessApp(backend).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def token(inproc: InProcessApp) -> str:
    backend = Backend("sqlite", inproc.settings.data_dir)
    return inproc.token(create_client(backend))


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def setup(inproc: InProcessApp, token: str, upstream: RecordingUpstream) -> dict[str, str]:
    """A custom provider on the recording upstream, a connection and an account, all made
    over gRPC; two tools made over REST."""
    definition = provider_definition(
        "Grpc Tools", upstream, type="API_KEY", auth_header_key_override="X-Api-Key"
    )
    provider = pv.CreateCustomProvider(
        display_name=definition["display_name"],
        proxy_url=definition["proxy_url"],
        proxy_enabled=True,
    )
    provider.auth_patterns.extend(definition["auth_patterns"])
    made = call(
        inproc,
        PROVIDERS + "CreateCustomProvider",
        pv.CreateCustomProviderRequest(provider=provider),
        token,
        pv.CreateProviderResponse,
    )
    assert made.provider.display_name == "Grpc Tools" and made.provider.proxy_enabled
    key = made.provider.identifier
    connection = call(
        inproc,
        CONNECTIONS + "CreateEnvironmentConnection",
        cn.CreateEnvironmentConnectionRequest(
            connection=cn.CreateConnection(provider_key=key, key_id="grpc-tools"),
            flags=cn.Flags(is_app=True),
        ),
        token,
        cn.CreateConnectionResponse,
    )
    assert connection.connection.key_id == "grpc-tools"
    details = struct_pb2.Struct()
    details.update({"api_key": "grpc-secret-1"})
    account = call(
        inproc,
        CA + "CreateConnectedAccount",
        ca.CreateConnectedAccountRequest(
            connector="grpc-tools",
            identifier="user-1",
            connected_account=ca.CreateConnectedAccount(
                authorization_details=ca.AuthorizationDetails(
                    static_auth=ca.StaticAuth(details=details)
                )
            ),
        ),
        token,
        ca.CreateConnectedAccountResponse,
    )
    assert account.connected_account.identifier == "user-1"
    assert account.connected_account.status == ca.ACTIVE
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    slow = tool_body(
        key,
        "grpc_slow",
        method="GET",
        path="/slow",
        params={"s": {"in": "query"}},
        input_schema={"type": "object", "properties": {"s": {"type": "number"}}},
    )
    for body in (tool_body(key, "grpc_items"), status_tool(key, "grpc_status"), slow):
        made_tool = inproc.http("POST", "/api/v1/tools", json.dumps(body).encode(), [*auth.items()])
        assert made_tool.status == 201, made_tool.body
    return {"provider": key, "account": account.connected_account.id}
