"""MCP configs (Scalekit's `mcpMcpConfig`, plus `access_level`), their end users' states
and session tokens."""

from typing import Annotated, Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import Schema, Timestamp

AccessLevel = Literal["FULL", "READ_ONLY"]
_IDENTIFIER = Schema(minLength=1, maxLength=255)
_DESCRIPTION = Schema(maxLength=2000)
_MAPPINGS = Schema(minItems=1, maxItems=25)


class McpConnectionMappingBody(TypedDict):
    connection_name: str
    connection_id: NotRequired[str]
    provider: NotRequired[str]
    tools: NotRequired[
        Annotated[list[str], Schema(description="tool names; empty = all of the provider's")]
    ]


class McpConfigBody(TypedDict):
    """Scalekit's mcpMcpConfig, plus `access_level`."""

    id: str
    name: str
    description: str
    access_level: AccessLevel
    mcp_server_url: str
    connection_tool_mappings: NotRequired[list[McpConnectionMappingBody]]
    created_at: NotRequired[Timestamp]
    updated_at: NotRequired[Timestamp]


class McpConfigResponse(TypedDict):
    config: McpConfigBody


class ListMcpConfigsResponse(TypedDict):
    configs: list[McpConfigBody]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


class McpConnectionMappingInput(TypedDict):
    connection_name: str
    tools: NotRequired[list[str]]


class McpConfigRequest(TypedDict):
    name: Annotated[str, Schema(pattern="^[a-z0-9_-]{1,100}$")]
    description: NotRequired[Annotated[str, _DESCRIPTION]]
    access_level: NotRequired[AccessLevel]
    connection_tool_mappings: Annotated[list[McpConnectionMappingInput], _MAPPINGS]


class McpConfigUpdateRequest(TypedDict, total=False):
    description: Annotated[str, _DESCRIPTION]
    access_level: AccessLevel
    connection_tool_mappings: Annotated[list[McpConnectionMappingInput], _MAPPINGS]


class McpConnectedAccountsRequest(TypedDict):
    identifier: Annotated[str, _IDENTIFIER]
    include_auth_link: NotRequired[bool]


class McpConnectionAuthStateBody(TypedDict):
    connection_name: str
    connection_id: NotRequired[str]
    provider: NotRequired[str]
    connected_account_id: str
    connected_account_status: str
    authentication_link: NotRequired[str]


class McpConnectedAccountsResponse(TypedDict):
    connected_accounts: list[McpConnectionAuthStateBody]


class McpTokenRequest(TypedDict):
    identifier: Annotated[str, _IDENTIFIER]
    expiry: NotRequired[Annotated[str, Schema(description="60s to 86400s; default 3600s")]]
    access_level: NotRequired[
        Annotated[AccessLevel, Schema(description="READ_ONLY: read-only tools only; default FULL")]
    ]


class McpTokenResponse(TypedDict):
    token: str
    expires_at: Timestamp
    mcp_server_url: NotRequired[str]
    access_level: NotRequired[AccessLevel]


class McpInstanceBody(TypedDict):
    """Scalekit's mcpMcpInstance: `url` is pre-authenticated (a credential)."""

    id: str
    name: str
    user_identifier: str
    config: McpConfigBody
    last_used_at: NotRequired[Timestamp]
    updated_at: Timestamp
    url: str


class McpInstanceResponse(TypedDict):
    instance: McpInstanceBody


class ListMcpInstancesResponse(TypedDict):
    instances: list[McpInstanceBody]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


class EnsureMcpInstanceRequest(TypedDict):
    config_name: str
    user_identifier: Annotated[str, _IDENTIFIER]
    name: NotRequired[
        Annotated[str, Schema(maxLength=100, description="default: the config's name")]
    ]


class UpdateMcpInstanceRequest(TypedDict, total=False):
    name: Annotated[str, Schema(maxLength=100)]
    config_name: str


class GetMcpInstanceAuthStateRequest(TypedDict, total=False):
    include_auth_links: bool


class McpInstanceConnectionAuthStateBody(TypedDict):
    connection_id: str
    connection_name: str
    provider: str
    connected_account_id: str
    connected_account_status: str
    authentication_link: str


class McpInstanceAuthStateResponse(TypedDict):
    connections: list[McpInstanceConnectionAuthStateBody]
