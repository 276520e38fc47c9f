"""The MCP sign-in tests' shared fixture: an environment that signs users in through a
team app, alice's config and a second one, and a client registered for the first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.mcp_oauth_flow import Flow
from tests.support.mcp_oauth_team import (
    SignInEnv,
    TeamApp,
    running,
    setup_config,
    sign_in_environment,
)
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


@pytest.fixture
async def setup(
    server: Server, upstream: RecordingUpstream, unique: str
) -> AsyncIterator[tuple[Flow, TeamApp, SignInEnv, str]]:
    """(flow with a registered client, team app, environment, a second config's URL (bob's))."""
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"mo-{unique}", team)
        with server.api(env.client) as api:
            _, conn, config = setup_config(api, upstream, unique, "alice")
            other = api.post(
                "/api/v1/mcp/configs",
                json={
                    "name": f"bob-{unique}",
                    "connection_tool_mappings": [{"connection_name": conn}],
                },
            )
            assert other.status_code == 201, other.text
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register()
        yield flow, team, env, other.json()["config"]["mcp_server_url"]
