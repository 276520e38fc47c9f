"""`client.tools` (list, get, create, update, delete, search, sync) and the request
builders behind them and behind `client.actions.execute_tool` (sync and async)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from authrelay_client._ops import Op, Page, answer, model_of, nothing, request, segment
from authrelay_client.models import (
    ExecuteToolResponse,
    ScopedTool,
    Tool,
    ToolSearchResult,
    ToolSyncResult,
)
from authrelay_client.wire import ExecuteToolRequest, SearchToolsRequest, ToolRequest

if TYPE_CHECKING:
    from authrelay_client._client import AsyncClient, Client

TOOL_PAGE_SIZE = 1000  # the server's maximum
ToolBody = Mapping[str, Any] | Tool
UserFilter = dict[str, str | None]  # identifier, connector, connected_account_id


def _user(
    identifier: str | None, connector: str | None, connected_account_id: str | None
) -> UserFilter:
    return {
        "identifier": identifier,
        "connector": connector,
        "connected_account_id": connected_account_id,
    }


def _body(tool: ToolBody) -> ToolRequest | dict[str, object]:
    """A `Tool` as the server takes it, or the caller's mapping as given."""
    return tool.as_input() if isinstance(tool, Tool) else dict(tool)


def tools_page(
    base: str,
    provider: str | None,
    names: list[str] | None,
    query: str | None,
    page_size: int,
    full: bool = False,
    user: UserFilter | None = None,
) -> Callable[[str], Op[Page[Tool]]]:
    def page(token: str) -> Op[Page[Tool]]:
        params = {
            "filter.provider": provider,
            "filter.tool_name": names or None,
            "filter.query": query,
            **{f"filter.{k}": v for k, v in (user or {}).items() if v},
            "page_size": page_size,
            "page_token": token or None,
            "view": "full" if full else None,
        }

        def parse(response: httpx.Response) -> Page[Tool]:
            body = answer(response)
            items = [Tool.model_validate(t) for t in body.get("tools", [])]
            return items, str(body.get("next_page_token") or "")

        return Op(request(base, "GET", "/api/v1/tools", params=params), parse)

    return page


def scoped_page(
    base: str,
    identifier: str,
    providers: list[str] | None,
    names: list[str] | None,
    connections: list[str] | None,
    page_size: int,
) -> Callable[[str], Op[Page[ScopedTool]]]:
    def page(token: str) -> Op[Page[ScopedTool]]:
        params = {
            "identifier": identifier,
            "filter.providers": providers or None,
            "filter.tool_names": names or None,
            "filter.connection_names": connections or None,
            "page_size": page_size,
            "page_token": token or None,
        }

        def parse(response: httpx.Response) -> Page[ScopedTool]:
            body = answer(response)
            items = [ScopedTool.model_validate(t) for t in body.get("tools", [])]
            return items, str(body.get("next_page_token") or "")

        return Op(request(base, "GET", "/api/v1/tools/scoped", params=params), parse)

    return page


def get_tool(base: str, key: str) -> Op[Tool]:
    return Op(request(base, "GET", f"/api/v1/tools/{segment(key)}"), model_of(Tool, "tool"))


def create_tool(base: str, tool: ToolBody) -> Op[Tool]:
    return Op(request(base, "POST", "/api/v1/tools", json=_body(tool)), model_of(Tool, "tool"))


def update_tool(base: str, key: str, tool: ToolBody) -> Op[Tool]:
    path = f"/api/v1/tools/{segment(key)}"
    return Op(request(base, "PUT", path, json=_body(tool)), model_of(Tool, "tool"))


def delete_tool(base: str, key: str) -> Op[None]:
    return Op(request(base, "DELETE", f"/api/v1/tools/{segment(key)}"), nothing)


def search_tools(
    base: str, query: str, providers: list[str] | None, limit: int
) -> Op[list[ToolSearchResult]]:
    # authrelay's answer (each result with the whole tool); without `view` the route answers
    # Scalekit's shorter SearchToolsResponse
    body: SearchToolsRequest = {"query": query, "limit": limit, "view": "full"}
    if providers:
        body["providers"] = providers

    def parse(response: httpx.Response) -> list[ToolSearchResult]:
        return [ToolSearchResult.model_validate(r) for r in answer(response).get("results", [])]

    return Op(request(base, "POST", "/api/v1/tools:search", json=body), parse)


def sync_tools(
    base: str, provider: str, tools: Sequence[ToolBody], prune: str, source: str, dry_run: bool
) -> Op[ToolSyncResult]:
    body = {
        "provider": provider,
        "tools": [_body(t) for t in tools],
        "prune": prune,
        "source": source,
        "dry_run": dry_run,
    }
    return Op(request(base, "POST", "/api/v1/tools:sync", json=body), model_of(ToolSyncResult))


def execute_tool(
    base: str,
    tool_name: str,
    params: Mapping[str, Any] | None,
    *,
    identifier: str | None,
    connector: str | None,
    connected_account_id: str | None,
    agent_run_id: str | None,
) -> Op[ExecuteToolResponse]:
    body: ExecuteToolRequest = {"tool_name": tool_name, "params": dict(params or {})}
    if identifier:
        body["identifier"] = identifier
    if connector:
        body["connector"] = connector
    if connected_account_id:
        body["connected_account_id"] = connected_account_id
    if agent_run_id:
        body["agent_run_id"] = agent_run_id
    return Op(
        request(base, "POST", "/api/v1/execute_tool", json=body),
        model_of(ExecuteToolResponse),
    )


class Tools:
    """Tools of the environment (SPEC §9)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self,
        provider: str | None = None,
        names: builtins.list[str] | None = None,
        query: str | None = None,
        *,
        full: bool = False,
        identifier: str | None = None,
        connector: str | None = None,
        connected_account_id: str | None = None,
        page_size: int = TOOL_PAGE_SIZE,
    ) -> builtins.list[Tool]:
        """Every tool matching the filters (all pages); with `full`, each with its binding.
        `identifier` (with `connector`) or `connected_account_id` keeps the tools of the
        providers that user has accounts on."""
        user = _user(identifier, connector, connected_account_id)
        page = tools_page(self._client.env_url, provider, names, query, page_size, full, user)
        return self._client._collect(page)

    def scoped(
        self,
        identifier: str,
        *,
        providers: builtins.list[str] | None = None,
        names: builtins.list[str] | None = None,
        connection_names: builtins.list[str] | None = None,
        page_size: int = TOOL_PAGE_SIZE,
    ) -> builtins.list[ScopedTool]:
        """What `identifier` can call now: one entry per (ACTIVE connected account, tool of
        its provider), with the account's id."""
        page = scoped_page(
            self._client.env_url, identifier, providers, names, connection_names, page_size
        )
        return self._client._collect(page)

    def get(self, id_or_name: str) -> Tool:
        """One tool with its binding; `NotFoundError` when there is none."""
        return self._client._run(get_tool(self._client.env_url, id_or_name))

    def create(self, tool: ToolBody) -> Tool:
        return self._client._run(create_tool(self._client.env_url, tool))

    def update(self, id_or_name: str, tool: ToolBody) -> Tool:
        """Replace a tool (its name may change)."""
        return self._client._run(update_tool(self._client.env_url, id_or_name, tool))

    def delete(self, id_or_name: str) -> None:
        self._client._run(delete_tool(self._client.env_url, id_or_name))

    def search(
        self, query: str, providers: builtins.list[str] | None = None, limit: int = 10
    ) -> builtins.list[ToolSearchResult]:
        """The best matches for `query` over names and descriptions, best first."""
        return self._client._run(search_tools(self._client.env_url, query, providers, limit))

    def sync(
        self,
        provider: str,
        tools: Sequence[ToolBody],
        *,
        prune: str = "none",
        source: str = "api",
        dry_run: bool = False,
    ) -> ToolSyncResult:
        """Make a provider's tools match `tools` in one transaction (see docs/tools.md)."""
        op = sync_tools(self._client.env_url, provider, tools, prune, source, dry_run)
        return self._client._run(op)


class AsyncTools:
    """`Tools` for `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self,
        provider: str | None = None,
        names: builtins.list[str] | None = None,
        query: str | None = None,
        *,
        full: bool = False,
        identifier: str | None = None,
        connector: str | None = None,
        connected_account_id: str | None = None,
        page_size: int = TOOL_PAGE_SIZE,
    ) -> builtins.list[Tool]:
        user = _user(identifier, connector, connected_account_id)
        page = tools_page(self._client.env_url, provider, names, query, page_size, full, user)
        return await self._client._collect(page)

    async def scoped(
        self,
        identifier: str,
        *,
        providers: builtins.list[str] | None = None,
        names: builtins.list[str] | None = None,
        connection_names: builtins.list[str] | None = None,
        page_size: int = TOOL_PAGE_SIZE,
    ) -> builtins.list[ScopedTool]:
        page = scoped_page(
            self._client.env_url, identifier, providers, names, connection_names, page_size
        )
        return await self._client._collect(page)

    async def get(self, id_or_name: str) -> Tool:
        return await self._client._run(get_tool(self._client.env_url, id_or_name))

    async def create(self, tool: ToolBody) -> Tool:
        return await self._client._run(create_tool(self._client.env_url, tool))

    async def update(self, id_or_name: str, tool: ToolBody) -> Tool:
        return await self._client._run(update_tool(self._client.env_url, id_or_name, tool))

    async def delete(self, id_or_name: str) -> None:
        await self._client._run(delete_tool(self._client.env_url, id_or_name))

    async def search(
        self, query: str, providers: builtins.list[str] | None = None, limit: int = 10
    ) -> builtins.list[ToolSearchResult]:
        return await self._client._run(search_tools(self._client.env_url, query, providers, limit))

    async def sync(
        self,
        provider: str,
        tools: Sequence[ToolBody],
        *,
        prune: str = "none",
        source: str = "api",
        dry_run: bool = False,
    ) -> ToolSyncResult:
        op = sync_tools(self._client.env_url, provider, tools, prune, source, dry_run)
        return await self._client._run(op)
