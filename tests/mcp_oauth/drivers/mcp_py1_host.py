"""An MCP host written with the official `mcp` Python SDK 1.x (run by
tests/mcp_oauth/test_sdk_clients.py in its own virtual environment under .cache/): given only
the MCP URL on stdin ({url, tool, redirect}), its OAuthClientProvider discovers the
authorization server from the 401, registers dynamically, signs in (the "browser" follows the
redirects through the team's login hand-off and allows on authrelay's consent page), then
tools/list and tools/call. Prints one JSON object of results. Not imported by the suite (it runs under another `mcp`)."""

import asyncio
import json
import re
import sys
from importlib.metadata import version
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from mcp import ClientSession

CFG = json.loads(sys.stdin.read())
CALLBACK: dict[str, str] = {}
VISITED: list[str] = []


class Storage:
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


async def browser(url: str) -> None:
    """Follow the redirects (with the cookies set on the way) up to the redirect URI; on
    authrelay's consent page the user clicks Allow."""
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(8):
            if url.startswith(CFG["redirect"]):
                CALLBACK.update({k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
                return
            VISITED.append(url.split("?")[0])
            answer = await http.get(url)
            if answer.status_code == 200 and "/consent/" in urlsplit(url).path:
                token = re.search(r'name="csrf_token" value="([^"]+)"', answer.text)
                if token is None:
                    raise RuntimeError(f"no csrf_token on the consent page: {answer.text}")
                form = {"csrf_token": token.group(1), "decision": "allow"}
                answer = await http.post(url, data=form)
            if answer.status_code not in (302, 303):
                raise RuntimeError(f"sign-in stopped: {answer.status_code} {answer.text}")
            url = urljoin(url, answer.headers["location"])
    raise RuntimeError("too many redirects")


async def callback() -> tuple[str, str | None]:
    return CALLBACK["code"], CALLBACK.get("state")


async def main() -> dict[str, object]:
    storage = Storage()
    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(CFG["redirect"])],
        client_name="mcp 1.x host",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    provider = OAuthClientProvider(CFG["url"], metadata, storage, browser, callback)
    async with (
        streamablehttp_client(CFG["url"], auth=provider) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        result = await session.call_tool(CFG["tool"], {"owner": "o", "limit": 1, "title": "t"})
    return {
        "mcp_version": version("mcp"),
        "tools": tools,
        "is_error": bool(result.isError),
        "client_id": storage.client.client_id if storage.client else None,
        "refresh_token": bool(storage.tokens and storage.tokens.refresh_token),
        "callback_iss": CALLBACK.get("iss"),
        "visited": VISITED,
    }


print(json.dumps(asyncio.run(main())))
