"""The official `mcp` SDK's client with its OAuth client provider, given only an MCP URL:
discovery from the 401, registration (dynamic, or a client ID metadata document), sign-in
through the team's login hand-off, then tools/list and tools/call reaching the recording
upstream with the signed-in user's credential."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import httpx2
from aiohttp import web
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.support.mcp_oauth_team import (
    Browser,
    TeamApp,
    running,
    serve_json,
    setup_config,
    sign_in_environment,
)
from tests.support.servers import Server, free_port
from tests.support.upstream import RecordingUpstream


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def host_provider(
    url: str, browser: Browser, storage: MemoryStorage, metadata_url: str | None = None
) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(browser.redirect_prefix)],
        client_name="test MCP host",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        url,
        metadata,
        storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
        client_metadata_url=metadata_url,
    )


async def call_tools(url: str, provider: OAuthClientProvider, tool: str) -> tuple[list[str], Any]:
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = [t.name for t in (await session.list_tools()).tools]
        result = await session.call_tool(tool, {"owner": "o", "limit": 1, "title": "t"})
        return names, result


async def test_dynamic_registration_and_login_handoff(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    async with running(TeamApp(user="alice")) as team:
        env = sign_in_environment(server, f"as-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        url = config["mcp_server_url"]
        # the 401 points at RFC 9728 metadata that names this environment's issuer
        async with httpx.AsyncClient(timeout=30) as http:
            refused = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert refused.status_code == 401
            prm = await http.get(
                f"{server.url}/.well-known/oauth-protected-resource{url[len(server.url) :]}"
            )
        assert prm.json()["authorization_servers"] == [env.issuer]
        browser = Browser(f"http://127.0.0.1:{free_port()}/callback")
        storage = MemoryStorage()
        upstream.clear()
        names, result = await call_tools(
            url, host_provider(url, browser, storage), f"items_{unique}"
        )
        assert f"items_{unique}" in names
        assert not result.is_error, result
        assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1"]
        assert storage.client is not None and storage.client.client_id.startswith("mcpc_")
        assert storage.tokens is not None and storage.tokens.refresh_token
        (verified,) = team.verified
        assert verified["env"] == env.id and verified["return_to"] == f"{env.issuer}/handoff"
        assert browser.result["iss"] == env.issuer


async def test_client_id_metadata_document(
    server: Server, upstream: RecordingUpstream, unique: str, tls: tuple[Path, ssl.SSLContext]
) -> None:
    browser = Browser(f"http://127.0.0.1:{free_port()}/callback")
    fetched: list[str] = []

    async def document(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.json_response(
            {
                "client_id": f"https://localhost:{request.url.port}/client.json",
                "client_name": "CIMD host",
                "redirect_uris": ["http://127.0.0.1/callback"],  # any loopback port
                "token_endpoint_auth_method": "none",
            }
        )

    async with (
        running(TeamApp(user="alice")) as team,
        serve_json("/client.json", document, tls[1]) as base,
    ):
        env = sign_in_environment(server, f"cimd-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        url = config["mcp_server_url"]
        storage = MemoryStorage()
        provider = host_provider(url, browser, storage, f"{base}/client.json")
        names, result = await call_tools(url, provider, f"items_{unique}")
        assert f"items_{unique}" in names and not result.is_error
        assert storage.client is not None and storage.client.client_id == f"{base}/client.json"
        assert fetched == ["/client.json"]
