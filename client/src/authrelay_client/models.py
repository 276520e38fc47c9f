"""Typed answers of the authrelay (Scalekit AgentKit) API, as the SDK returns them.

Every model accepts fields it does not know (`extra="allow"`), so an older client keeps
working against a newer server; unknown fields stay reachable as attributes and in
`model_dump()`. The provider *definition* (what create and update accept) is the server's
own model, `authrelay_client.providers.model.ProviderDefinition`, re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from authrelay_client.providers.model import ProviderDefinition
from authrelay_client.wire import ToolRequest, ToolUpdateBody

__all__ = [
    "AuthorizationLink",
    "ConnectedAccount",
    "Connection",
    "ConnectionOAuthConfig",
    "ExecuteToolResponse",
    "ListConnectedAccountsResponse",
    "ListConnectionsResponse",
    "ListProvidersResponse",
    "Provider",
    "ProviderDefinition",
    "ToggleConnectionResponse",
    "Tool",
    "ToolSearchResult",
    "ToolSyncResult",
]

DEFINITION_FIELDS = (
    "display_name",
    "description",
    "auth_patterns",
    "proxy_url",
    "proxy_enabled",
    "icon_src",
    "metadata",
    "proxy_headers",
    "retry",
)


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Provider(ApiModel):
    """A provider as `GET /api/v1/providers` and the custom-provider calls return it."""

    id: str = ""
    identifier: str = ""
    display_name: str = ""
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    auth_patterns: list[dict[str, Any]] = Field(default_factory=list)
    icon_src: str | None = None
    display_priority: int = 0
    coming_soon: bool = False
    proxy_url: str | None = None
    proxy_enabled: bool = False
    is_custom: bool = False
    is_custom_mcp: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)
    # authrelay extensions (SPEC §3a); None when the provider does not set them
    proxy_headers: dict[str, str] | None = None
    retry: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    etag: str | None = None

    def definition(self) -> dict[str, Any]:
        """The definition part (what create/update accept), e.g. to copy it elsewhere."""
        data = self.model_dump(mode="json", include=set(DEFINITION_FIELDS))
        if not data.get("icon_src"):
            data.pop("icon_src", None)
        for key in ("proxy_headers", "retry"):  # authrelay extensions: only when set
            if data.get(key) is None:
                data.pop(key, None)
        return data


class ListProvidersResponse(ApiModel):
    providers: list[Provider] = Field(default_factory=list)
    next_page_token: str = ""
    prev_page_token: str = ""
    total_size: int = 0


class ConnectionOAuthConfig(ApiModel):
    """A connection's OAuth settings (the client secret is write-only: never returned)."""

    client_id: str | None = None
    scopes: list[str] = Field(default_factory=list)
    required_scopes: list[str] = Field(default_factory=list)
    redirect_uri: str | None = None
    authorize_uri: str | None = None
    token_uri: str | None = None
    user_info_uri: str | None = None
    pkce_enabled: bool | None = None
    prompt: str | None = None
    access_type: str | None = None
    custom_scope_name: str | None = None
    token_endpoint_auth_method: str | None = None
    scope_selection_allowed: bool | None = None


class Connection(ApiModel):
    """An environment app connection; `key_id` is its name (`connection_name`)."""

    id: str = ""
    type: str = ""
    status: str = ""
    enabled: bool = True
    provider_key: str = ""
    key_id: str = ""
    auth_mode: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    resolved_proxy_url: str | None = None
    static_config: dict[str, Any] | None = None
    oauth_config: ConnectionOAuthConfig | None = None

    @property
    def name(self) -> str:
        return self.key_id


class ListConnectionsResponse(ApiModel):
    connections: list[Connection] = Field(default_factory=list)
    next_page_token: str = ""
    total_size: int = 0


class ToggleConnectionResponse(ApiModel):
    enabled: bool = False
    error_message: str = ""


class ConnectedAccount(ApiModel):
    """A connected account. `authorization_details` holds credential values only when it
    comes from `connected_accounts.get_auth`; lists carry neither it nor `api_config`."""

    id: str = ""
    identifier: str = ""
    provider: str = ""
    connector: str = ""
    connection_id: str = ""
    status: str = ""
    authorization_type: str = ""
    authorization_details: dict[str, Any] | None = None
    api_config: dict[str, Any] | None = None
    token_expires_at: datetime | None = None
    updated_at: datetime | None = None
    last_used_at: datetime | None = None
    is_org_wide_credential: bool = False


class ListConnectedAccountsResponse(ApiModel):
    connected_accounts: list[ConnectedAccount] = Field(default_factory=list)
    next_page_token: str = ""
    prev_page_token: str = ""
    total_size: int = 0


class AuthorizationLink(ApiModel):
    """`{link, expiry}`; also readable as a mapping (`link["link"]`) as in earlier versions."""

    link: str
    expiry: datetime | None = None

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class Tool(ApiModel):
    """A tool (Scalekit's `toolsTool`); `binding` and `source` are authrelay's and come
    with `client.tools.get` and `client.tools.list(full=True)`."""

    id: str = ""
    provider: str = ""
    definition: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    is_default: bool = True
    updated_at: datetime | None = None
    binding: dict[str, Any] | None = None
    source: str | None = None

    @property
    def name(self) -> str:
        return str(self.definition.get("name", ""))

    def as_input(self) -> ToolRequest:
        """What `client.tools.create`/`update`/`sync` take, e.g. to copy the tool."""
        return {
            "provider": self.provider.lower(),
            "definition": self.definition,
            "binding": self.binding or {},
            "metadata": self.metadata,
            "tags": self.tags,
        }


class ScopedTool(ApiModel):
    """A tool one end user can call now, with the connected account it runs on."""

    connected_account_id: str = ""
    identifier: str = ""
    tool: Tool = Field(default_factory=Tool)


class ToolSearchResult(ApiModel):
    score: float = 0.0
    tool: Tool = Field(default_factory=Tool)


class ToolSyncResult(ApiModel):
    """What `client.tools.sync` did (or, with `dry_run`, would do)."""

    provider: str = ""
    created: list[str] = Field(default_factory=list)
    updated: list[ToolUpdateBody] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    dry_run: bool = False


class ExecuteToolResponse(ApiModel):
    data: dict[str, Any] = Field(default_factory=dict)
    execution_id: str = ""


class McpConnectionMapping(ApiModel):
    """One connection of an MCP config and its tools (empty: all of the provider's)."""

    connection_name: str = ""
    connection_id: str = ""
    provider: str = ""
    tools: list[str] = Field(default_factory=list)


class McpConfig(ApiModel):
    """An MCP config (Scalekit's `mcpMcpConfig`; `access_level` is authrelay's)."""

    id: str = ""
    name: str = ""
    description: str = ""
    access_level: str = "FULL"
    mcp_server_url: str = ""
    connection_tool_mappings: list[McpConnectionMapping] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class McpConnectionAuthState(ApiModel):
    """An end user's account on one connection of an MCP config."""

    connection_name: str = ""
    connection_id: str = ""
    provider: str = ""
    connected_account_id: str = ""
    connected_account_status: str = ""
    authentication_link: str = ""


class McpSessionToken(ApiModel):
    """A session token and the MCP URL it opens."""

    token: str = ""
    expires_at: datetime | None = None
    mcp_server_url: str = ""
    access_level: str = "FULL"
