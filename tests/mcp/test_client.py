"""`client.mcp` (sync and async) against the real server; the token it makes opens the MCP
URL for the official `mcp` SDK's client."""

from __future__ import annotations

import pytest

import authrelay_client
from authrelay_client._exceptions import InvalidArgumentError, NotFoundError
from tests.support.mcp import mcp_session, setup_config
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


async def test_sdk_mcp_configs_and_tokens(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, _ = setup_config(api, upstream, unique, "kim")
    creds = (server.url, dev_client["client_id"], dev_client["client_secret"])
    async with authrelay_client.AsyncClient(*creds) as client:
        config = await client.mcp.configs.create(
            f"sdk-{unique}", [conn], description="made by the SDK", access_level="READ_ONLY"
        )
        assert config.id.startswith("cfg_") and config.access_level == "READ_ONLY"
        assert config.connection_tool_mappings[0].connection_name == conn
        assert (await client.mcp.configs.get(config.id)).description == "made by the SDK"
        assert [c.id for c in await client.mcp.configs.list(name=f"sdk-{unique}")] == [config.id]
        updated = await client.mcp.configs.update(
            config.id, connections=[{"connection_name": conn, "tools": [f"items_{unique}"]}]
        )
        assert updated.connection_tool_mappings[0].tools == [f"items_{unique}"]
        (state,) = await client.mcp.configs.connected_accounts(config.id, "kim")
        assert state.connected_account_status == "ACTIVE"
        token = await client.mcp.create_session_token(config.id, "kim", expiry=120)
        assert token.mcp_server_url == config.mcp_server_url
        conn_token = await client.mcp.create_connection_token(conn, "kim")
        assert conn_token.mcp_server_url == f"{server.url}/mcp/v3/connections/{conn}"
        with pytest.raises(InvalidArgumentError):
            await client.mcp.create_session_token(config.id, "kim", expiry=5)
        async with mcp_session(token.mcp_server_url, token.token) as session:
            names = [t.name for t in (await session.list_tools()).tools]
            assert names == [f"items_{unique}"]
        await client.mcp.configs.delete(config.id)
        with pytest.raises(NotFoundError):
            await client.mcp.configs.get(config.id)


def test_sync_sdk_mcp(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, conn, _ = setup_config(api, upstream, unique, "lee")
    creds = (server.url, dev_client["client_id"], dev_client["client_secret"])
    with authrelay_client.Client(*creds) as client:
        config = client.mcp.configs.create(f"sync-{unique}", [conn])
        assert client.mcp.configs.get(config.id).name == f"sync-{unique}"
        assert config.id in {c.id for c in client.mcp.configs.list()}
        changed = client.mcp.configs.update(config.id, description="d", access_level="READ_ONLY")
        assert changed.description == "d" and changed.access_level == "READ_ONLY"
        states = client.mcp.configs.connected_accounts(config.id, "zed", include_auth_link=True)
        assert states[0].authentication_link.startswith(f"{server.url}/connect/")
        token = client.mcp.create_session_token(config.id, "lee", expiry="600s")
        assert token.token.count(".") == 2 and token.expires_at is not None
        assert client.mcp.create_connection_token(conn, "lee").token
        client.mcp.configs.delete(config.id)
        assert config.id not in {c.id for c in client.mcp.configs.list()}
