"""Tools (Scalekit's `toolsTool`, plus authrelay's binding and source) and the calls on them."""

from typing import Annotated, Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import JSONObject, Schema, Timestamp


class ToolBody(TypedDict):
    """Scalekit's toolsTool; `binding` and `source` only in the full view."""

    id: str
    provider: str
    definition: JSONObject
    metadata: JSONObject
    tags: list[str]
    is_default: bool
    updated_at: Timestamp
    binding: NotRequired[JSONObject]
    source: NotRequired[str]


class ToolResponse(TypedDict):
    tool: ToolBody


class ListToolsResponse(TypedDict):
    """With `summary`, `tool_names` instead of `tools`."""

    tools: NotRequired[list[ToolBody]]
    tool_names: NotRequired[list[str]]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


class ScopedToolBody(TypedDict):
    connected_account_id: str
    identifier: str
    tool: ToolBody


class ListScopedToolsResponse(TypedDict):
    tools: list[ScopedToolBody]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


class ToolSearchResultBody(TypedDict):
    score: float
    tool: ToolBody


class SearchToolsFullResponse(TypedDict):
    """authrelay's answer to `tools:search` with `view: "full"`."""

    results: list[ToolSearchResultBody]
    total_size: int


ToolReadinessState = Literal[
    "TOOL_READINESS_STATE_READY",
    "TOOL_READINESS_STATE_NEEDS_CONNECTION",
    "TOOL_READINESS_STATE_NEEDS_REAUTH",
]


class ConnectionReadinessBody(TypedDict):
    connection_name: str
    connected_account_id: str
    readiness_state: ToolReadinessState


class SearchedToolBody(TypedDict):
    name: str
    provider: str
    description: str
    score: float
    connections: list[ConnectionReadinessBody]


class SearchToolsResponse(TypedDict):
    """Scalekit's SearchToolsResponse (`view: "full"` answers `SearchToolsFullResponse`)."""

    tools: list[SearchedToolBody]


class ToolUpdateBody(TypedDict):
    """A tool a sync changed, and which of its parts."""

    name: str
    fields: list[str]


class SyncToolsResponse(TypedDict):
    provider: str
    created: list[str]
    updated: list[ToolUpdateBody]
    deleted: list[str]
    unchanged: list[str]
    dry_run: bool


class ExecuteToolResponse(TypedDict):
    data: JSONObject
    execution_id: str


class ToolRequest(TypedDict):
    provider: str
    definition: JSONObject
    binding: JSONObject
    metadata: NotRequired[JSONObject]
    tags: NotRequired[list[str]]


class SearchToolsRequest(TypedDict):
    """Scalekit's `{query, identifier?, top_k?}`; with `view: "full"`, authrelay's
    `{query, providers?, limit?}` instead."""

    query: str
    identifier: NotRequired[Annotated[str, Schema(maxLength=255)]]
    top_k: NotRequired[Annotated[int, Schema(minimum=0, description="default 10, capped at 50")]]
    view: NotRequired[Literal["basic", "full"]]
    providers: NotRequired[list[str]]
    limit: NotRequired[Annotated[int, Schema(minimum=1, maximum=100)]]


class SyncToolsRequest(TypedDict):
    provider: str
    tools: list[JSONObject]
    prune: NotRequired[Literal["none", "source", "all"]]
    source: NotRequired[Literal["api", "file", "openapi", "promote"]]
    dry_run: NotRequired[bool]


class ExecuteToolRequest(TypedDict):
    tool_name: str
    params: NotRequired[JSONObject]
    tool_input: NotRequired[JSONObject]
    connected_account_id: NotRequired[str]
    identifier: NotRequired[str]
    connector: NotRequired[str]
    agent_run_id: NotRequired[str]
    organization_id: NotRequired[str]
    user_id: NotRequired[str]


class UpdateToolRequest(TypedDict):
    """UpdateTool (`PUT /api/v1/tools`): the tool with its `id`; a field left out keeps
    its stored value (`binding` included), `is_default`, `updated_at` and `source` are
    read-only."""

    id: str
    provider: NotRequired[str]
    definition: NotRequired[JSONObject]
    binding: NotRequired[JSONObject]
    metadata: NotRequired[JSONObject]
    tags: NotRequired[list[str]]
    is_default: NotRequired[bool | None]
    updated_at: NotRequired[Timestamp | None]
    source: NotRequired[str]


class SetToolDefaultRequest(TypedDict):
    """SetToolDefault: authrelay keeps one version of each tool, so the versions are empty."""

    name: str
    schema_version: NotRequired[str]
    tool_version: NotRequired[str]


class RefreshToolsRequest(TypedDict):
    """RefreshTools: the account by `connected_account_id`, or by `identifier` (and
    `connector`); `organization_id` and `user_id` are accepted and not used."""

    identifier: NotRequired[str | None]
    connected_account_id: NotRequired[str | None]
    connector: NotRequired[str | None]
    organization_id: NotRequired[str | None]
    user_id: NotRequired[str | None]


class RefreshToolsResponse(TypedDict):
    tools: list[ToolBody]
    total_size: int
