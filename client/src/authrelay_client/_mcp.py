"""`client.mcp`: MCP configs (list, get, create, update, delete, connected_accounts) and
session tokens for MCP URLs (sync and async)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from authrelay_client._ops import Op, Page, answer, model_of, nothing, request, segment
from authrelay_client.models import McpConfig, McpConnectionAuthState, McpSessionToken
from authrelay_client.wire import AccessLevel, McpTokenRequest

if TYPE_CHECKING:
    from authrelay_client._client import AsyncClient, Client

CONFIGS = "/api/v1/mcp/configs"
CONFIG_PAGE_SIZE = 100  # the server's maximum
Mapping_ = Mapping[str, Any] | str


def _mappings(items: Sequence[Mapping_]) -> list[dict[str, Any]]:
    """Connection names, or `{connection_name, tools}` objects."""
    return [{"connection_name": m} if isinstance(m, str) else dict(m) for m in items]


def configs_page(base: str, name: str | None) -> Callable[[str], Op[Page[McpConfig]]]:
    def page(token: str) -> Op[Page[McpConfig]]:
        params = {"filter.name": name, "page_size": CONFIG_PAGE_SIZE, "page_token": token or None}

        def parse(response: httpx.Response) -> Page[McpConfig]:
            body = answer(response)
            items = [McpConfig.model_validate(c) for c in body.get("configs", [])]
            return items, str(body.get("next_page_token") or "")

        return Op(request(base, "GET", CONFIGS, params=params), parse)

    return page


def get_config(base: str, config_id: str) -> Op[McpConfig]:
    path = f"{CONFIGS}/{segment(config_id)}"
    return Op(request(base, "GET", path), model_of(McpConfig, "config"))


def create_config(
    base: str, name: str, connections: Sequence[Mapping_], description: str, access_level: str
) -> Op[McpConfig]:
    body = {
        "name": name,
        "description": description,
        "access_level": access_level,
        "connection_tool_mappings": _mappings(connections),
    }
    return Op(request(base, "POST", CONFIGS, json=body), model_of(McpConfig, "config"))


def update_config(
    base: str,
    config_id: str,
    connections: Sequence[Mapping_] | None,
    description: str | None,
    access_level: str | None,
) -> Op[McpConfig]:
    body: dict[str, Any] = {}
    if connections is not None:
        body["connection_tool_mappings"] = _mappings(connections)
    if description is not None:
        body["description"] = description
    if access_level is not None:
        body["access_level"] = access_level
    path = f"{CONFIGS}/{segment(config_id)}"
    return Op(request(base, "PUT", path, json=body), model_of(McpConfig, "config"))


def delete_config(base: str, config_id: str) -> Op[None]:
    return Op(request(base, "DELETE", f"{CONFIGS}/{segment(config_id)}"), nothing)


def config_accounts(
    base: str, config_id: str, identifier: str, include_auth_link: bool
) -> Op[list[McpConnectionAuthState]]:
    path = f"{CONFIGS}/{segment(config_id)}/connected_accounts"
    body = {"identifier": identifier, "include_auth_link": include_auth_link}

    def parse(response: httpx.Response) -> list[McpConnectionAuthState]:
        items = answer(response).get("connected_accounts", [])
        return [McpConnectionAuthState.model_validate(i) for i in items]

    return Op(request(base, "POST", path, json=body), parse)


def session_token(
    base: str,
    kind: str,
    key: str,
    identifier: str,
    expiry: int | str | None,
    access_level: AccessLevel | None = None,
) -> Op[McpSessionToken]:
    """A token for `/mcp/v3/servers/{config}` (kind `configs`) or
    `/mcp/v3/connections/{name}` (kind `connections`)."""
    body: McpTokenRequest = {"identifier": identifier}
    if access_level is not None:
        body["access_level"] = access_level
    if expiry is not None:
        body["expiry"] = f"{expiry}s" if isinstance(expiry, int) else expiry
    path = f"/api/v1/mcp/{kind}/{segment(key)}/tokens"
    return Op(request(base, "POST", path, json=body), model_of(McpSessionToken))


class McpConfigs:
    """MCP configs of the environment (SPEC §9)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, name: str | None = None) -> builtins.list[McpConfig]:
        return self._client._collect(configs_page(self._client.env_url, name))

    def get(self, config_id: str) -> McpConfig:
        return self._client._run(get_config(self._client.env_url, config_id))

    def create(
        self,
        name: str,
        connections: Sequence[Mapping_],
        *,
        description: str = "",
        access_level: str = "FULL",
    ) -> McpConfig:
        """`connections`: connection names, or `{"connection_name", "tools"}` objects."""
        op = create_config(self._client.env_url, name, connections, description, access_level)
        return self._client._run(op)

    def update(
        self,
        config_id: str,
        *,
        connections: Sequence[Mapping_] | None = None,
        description: str | None = None,
        access_level: str | None = None,
    ) -> McpConfig:
        base = self._client.env_url
        return self._client._run(
            update_config(base, config_id, connections, description, access_level)
        )

    def delete(self, config_id: str) -> None:
        self._client._run(delete_config(self._client.env_url, config_id))

    def connected_accounts(
        self, config_id: str, identifier: str, *, include_auth_link: bool = False
    ) -> builtins.list[McpConnectionAuthState]:
        op = config_accounts(self._client.env_url, config_id, identifier, include_auth_link)
        return self._client._run(op)


class Mcp:
    """`client.mcp`: configs and session tokens."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.configs = McpConfigs(client)

    def create_session_token(
        self,
        config_id: str,
        identifier: str,
        expiry: int | str | None = None,
        access_level: AccessLevel | None = None,
    ) -> McpSessionToken:
        """A token for the config's MCP URL (`expiry`: seconds, or Scalekit's "3600s";
        `access_level` READ_ONLY: read-only tools only)."""
        op = session_token(
            self._client.env_url, "configs", config_id, identifier, expiry, access_level
        )
        return self._client._run(op)

    def create_connection_token(
        self,
        connection_name: str,
        identifier: str,
        expiry: int | str | None = None,
        access_level: AccessLevel | None = None,
    ) -> McpSessionToken:
        """A token for one connection's MCP URL."""
        op = session_token(
            self._client.env_url, "connections", connection_name, identifier, expiry, access_level
        )
        return self._client._run(op)


class AsyncMcpConfigs:
    """`McpConfigs` for `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, name: str | None = None) -> builtins.list[McpConfig]:
        return await self._client._collect(configs_page(self._client.env_url, name))

    async def get(self, config_id: str) -> McpConfig:
        return await self._client._run(get_config(self._client.env_url, config_id))

    async def create(
        self,
        name: str,
        connections: Sequence[Mapping_],
        *,
        description: str = "",
        access_level: str = "FULL",
    ) -> McpConfig:
        op = create_config(self._client.env_url, name, connections, description, access_level)
        return await self._client._run(op)

    async def update(
        self,
        config_id: str,
        *,
        connections: Sequence[Mapping_] | None = None,
        description: str | None = None,
        access_level: str | None = None,
    ) -> McpConfig:
        base = self._client.env_url
        return await self._client._run(
            update_config(base, config_id, connections, description, access_level)
        )

    async def delete(self, config_id: str) -> None:
        await self._client._run(delete_config(self._client.env_url, config_id))

    async def connected_accounts(
        self, config_id: str, identifier: str, *, include_auth_link: bool = False
    ) -> builtins.list[McpConnectionAuthState]:
        op = config_accounts(self._client.env_url, config_id, identifier, include_auth_link)
        return await self._client._run(op)


class AsyncMcp:
    """`Mcp` for `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.configs = AsyncMcpConfigs(client)

    async def create_session_token(
        self,
        config_id: str,
        identifier: str,
        expiry: int | str | None = None,
        access_level: AccessLevel | None = None,
    ) -> McpSessionToken:
        op = session_token(
            self._client.env_url, "configs", config_id, identifier, expiry, access_level
        )
        return await self._client._run(op)

    async def create_connection_token(
        self,
        connection_name: str,
        identifier: str,
        expiry: int | str | None = None,
        access_level: AccessLevel | None = None,
    ) -> McpSessionToken:
        op = session_token(
            self._client.env_url, "connections", connection_name, identifier, expiry, access_level
        )
        return await self._client._run(op)
