"""The one table of what each operation takes and answers, beyond what FastAPI sees.

Routes read their JSON bodies by hand (`request_body.py`, for exact SPEC §2 errors), so FastAPI
knows neither the bodies nor the statuses. Each row names, per (method, path): the pydantic
model the service parses the body with (or a wire type's component, see `typed.py`), the
success status and schema, and every error status the operation can answer. `build.py`
applies it; a test checks that every route has a row and every row a route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, Field

from authrelay.accounts.model import AccountRef, CreateAccountRequest, UpdateAccountRequest
from authrelay.connections.model import _NAME, ConnectionInput
from authrelay.oauth.flows import MagicLinkRequest, VerifyRequest
from authrelay_client.providers.model import (
    _DISPLAY_NAME,
    _SNAKE_CASE,
    AuthPattern,
    ProviderDefinition,
)


class ProviderUpdate(ProviderDefinition):
    """The body of `PUT /api/v1/custom-providers/{identifier}` (and `/providers/…`): a field
    left out keeps its stored value, so only `display_name` and `proxy_url` are required.
    Documents the body; the service validates the merged definition."""

    auth_patterns: Annotated[list[AuthPattern], Field(min_length=1, max_length=10)] = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Operation:
    """What one operation takes and answers.

    `body` is a pydantic model (JSON body) or a component name of a wire type; `errors`
    are the error statuses, answered with the google.rpc `Status` body unless `error_schema`
    says otherwise; `public` operations need no token.
    """

    summary: str
    ok: int = 200
    response: str | None = None
    body: type[BaseModel] | str | None = None
    errors: tuple[int, ...] = ()
    public: bool = False
    error_schema: str = "Status"
    media_type: str = "application/json"
    form_body: bool = False
    body_wrapper: str | None = None
    extra_responses: dict[int, str] = field(default_factory=dict)


AUTH = (401,)
LIST = (400, 401)  # page_size / page_token / filters, and the token
BODY = (400, 401, 413)  # malformed or invalid body, the token, a body over max_body_bytes
P = "/api/v1"
#: execute_tool: its own refusals, and an upstream 4xx relayed with its status (5xx → 502)
TOOL_ERRORS = (400, 401, 403, 404, 405, 409, 410, 412, 413, 415, 422, 429, 502, 504)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/healthz"): Operation("Liveness", response="Health", public=True),
    ("get", "/readyz"): Operation(
        "Readiness (the database answers)",
        response="Readiness",
        public=True,
        extra_responses={503: "Readiness"},
    ),
    ("get", "/metrics"): Operation(
        "Prometheus metrics", public=True, media_type="text/plain", response=None
    ),
    ("post", "/oauth/token"): Operation(
        "Issue an access token (OAuth 2.0 client credentials, RFC 6749 §4.4)",
        response="TokenResponse",
        body="TokenRequest",
        form_body=True,
        errors=(400, 401),
        error_schema="OAuthError",
        public=True,
    ),
    ("get", "/keys"): Operation("The token signing keys (JWKS)", response="JWKS", public=True),
    ("get", f"{P}/providers"): Operation(
        "List providers (built-in and custom)", response="ListProvidersResponse", errors=LIST
    ),
    ("get", f"{P}/providers/{{identifier}}"): Operation(
        "Get a provider", response="ProviderResponse", errors=(401, 404)
    ),
    ("get", f"{P}/my-providers"): Operation(
        "List the providers the environment has a connection of",
        response="ListProvidersResponse",
        errors=LIST,
    ),
    ("post", f"{P}/providers"): Operation(
        "Create a custom provider (CreateProvider; catalog-only fields must be empty)",
        ok=201,
        response="ProviderResponse",
        body=ProviderDefinition,
        body_wrapper="provider",
        errors=(*BODY, 409),
    ),
    ("put", f"{P}/providers/{{identifier}}"): Operation(
        "Update a custom provider (UpdateProvider; fields left out are kept)",
        response="ProviderResponse",
        body=ProviderUpdate,
        body_wrapper="provider",
        errors=(*BODY, 403, 404, 412),
    ),
    ("delete", f"{P}/providers/{{identifier}}"): Operation(
        "Delete a custom provider (built-in providers: 403)",
        response="Empty",
        errors=(401, 403, 404, 412),
    ),
    ("post", f"{P}/custom-providers"): Operation(
        "Create a custom provider",
        ok=201,
        response="ProviderResponse",
        body=ProviderDefinition,
        body_wrapper="provider",
        errors=(*BODY, 409),
    ),
    ("put", f"{P}/custom-providers/{{identifier}}"): Operation(
        "Update a custom provider's definition (fields left out are kept)",
        response="ProviderResponse",
        body=ProviderUpdate,
        body_wrapper="provider",
        errors=(*BODY, 403, 404, 412),
    ),
    ("delete", f"{P}/custom-providers/{{identifier}}"): Operation(
        "Delete a custom provider", response="Empty", errors=(401, 403, 404, 412)
    ),
    ("post", f"{P}/connections"): Operation(
        "Create a connection",
        ok=201,
        response="ConnectionResponse",
        body=ConnectionInput,
        errors=(*BODY, 409),
    ),
    ("get", f"{P}/connections"): Operation(
        "List the environment's connections as ListConnection items (at most 1000, by name; "
        "an organization_id or domain finds none)",
        response="ListEnvironmentConnectionsResponse",
        errors=AUTH,
    ),
    ("get", f"{P}/connections/app"): Operation(
        "List connections", response="ListConnectionsResponse", errors=LIST
    ),
    ("patch", f"{P}/connections/{{connection_id}}:enable"): Operation(
        "Enable a connection", response="ToggleConnectionResponse", errors=(401, 404)
    ),
    ("patch", f"{P}/connections/{{connection_id}}:disable"): Operation(
        "Disable a connection", response="ToggleConnectionResponse", errors=(401, 404)
    ),
    ("get", f"{P}/connections/{{connection_id}}"): Operation(
        "Get a connection", response="ConnectionResponse", errors=(401, 404)
    ),
    ("patch", f"{P}/connections/{{connection_id}}"): Operation(
        "Update a connection",
        response="ConnectionResponse",
        body=ConnectionInput,
        errors=(*BODY, 404, 409),
    ),
    ("delete", f"{P}/connections/{{connection_id}}"): Operation(
        "Delete a connection", response="Empty", errors=(400, 401, 404, 412)
    ),
    ("get", f"{P}/connected_accounts"): Operation(
        "List connected accounts", response="ListConnectedAccountsResponse", errors=LIST
    ),
    ("get", f"{P}/connected_accounts:search"): Operation(
        "Search connected accounts", response="ListConnectedAccountsResponse", errors=LIST
    ),
    ("post", f"{P}/connected_accounts"): Operation(
        "Create a connected account",
        ok=201,
        response="ConnectedAccountResponse",
        body=CreateAccountRequest,
        errors=(*BODY, 404, 409, 412),
    ),
    ("put", f"{P}/connected_accounts"): Operation(
        "Update a connected account",
        response="ConnectedAccountResponse",
        body=UpdateAccountRequest,
        errors=(*BODY, 404, 409, 412),
    ),
    ("post", f"{P}/connected_accounts:delete"): Operation(
        "Delete a connected account", response="Empty", body=AccountRef, errors=(*BODY, 404)
    ),
    ("get", f"{P}/connected_accounts/auth"): Operation(
        "Get a connected account with its credentials",
        response="ConnectedAccountResponse",
        errors=(400, 401, 404),
    ),
    ("get", f"{P}/connected_accounts/details"): Operation(
        "Get a connected account (no credentials)",
        response="ConnectedAccountResponse",
        errors=(400, 401, 404),
    ),
    ("post", f"{P}/connected_accounts/magic_link"): Operation(
        "Create an authorization link",
        response="MagicLinkResponse",
        body=MagicLinkRequest,
        errors=(*BODY, 404, 409, 412),
    ),
    ("post", f"{P}/connected_accounts/user/verify"): Operation(
        "Verify the user who completed an authorization",
        response="VerifyUserResponse",
        body=VerifyRequest,
        errors=(*BODY, 403, 404, 412),
    ),
    ("get", f"{P}/connected_accounts/{{account_id}}"): Operation(
        "Get a connected account by id (no credentials; 'this' is refused: 400)",
        response="ConnectedAccountResponse",
        errors=(400, 401, 404),
    ),
    ("post", f"{P}/connected_accounts/{{account_id}}:disconnect"): Operation(
        "Disconnect a connected account (id '-': named by the body's id or connector and "
        "identifier; 'this' is refused: 400)",
        response="ConnectedAccountResponse",
        errors=(*BODY, 404),
    ),
    ("get", f"{P}/audit-logs"): Operation(
        "List the audit log, newest first", response="ListAuditLogsResponse", errors=LIST
    ),
    ("get", f"{P}/agentkit/tool_call_logs"): Operation(
        "List the tool-call log, newest first (ListToolCallLogs)",
        response="ListToolCallLogsResponse",
        errors=LIST,
    ),
    ("get", f"{P}/agentkit/tool_call_logs:this"): Operation(
        "List the caller's tool-call log: the environment's (ListCurrentToolCallLogs)",
        response="ListToolCallLogsResponse",
        errors=LIST,
    ),
    ("get", f"{P}/agentkit/tool_call_logs/{{execution_id}}"): Operation(
        "One tool call by its execution id (GetToolCallLog)",
        response="ToolCallLog",
        errors=(*AUTH, 404),
    ),
    ("get", f"{P}/agentkit/analytics/overview"): Operation(
        "Tool-call counts: totals, errors by tier, top error codes, per provider, over time",
        response="OverviewStats",
        errors=LIST,
    ),
    ("get", f"{P}/agentkit/analytics/overview:this"): Operation(
        "The caller's tool-call counts: the environment's (GetCurrentOverviewStats)",
        response="OverviewStats",
        errors=LIST,
    ),
    ("get", f"{P}/tools"): Operation("List tools", response="ListToolsResponse", errors=LIST),
    ("get", f"{P}/tools/scoped"): Operation(
        "The tools one end user can call now, per connected account",
        response="ListScopedToolsResponse",
        errors=LIST,
    ),
    ("get", f"{P}/tools/available"): Operation(
        "The tools of every enabled connection's provider",
        response="ListToolsResponse",
        errors=LIST,
    ),
    ("post", f"{P}/tools:search"): Operation(
        "Search tools by name and description (Scalekit's answer; view=full: authrelay's)",
        response="SearchToolsResponse",
        body="SearchToolsRequest",
        errors=BODY,
    ),
    ("post", f"{P}/tools:sync"): Operation(
        "Replace a provider's tools in one transaction",
        response="SyncToolsResponse",
        body="SyncToolsRequest",
        errors=(*BODY, 404, 409),
    ),
    ("post", f"{P}/tools:set_default"): Operation(
        "Set a tool's default version (authrelay keeps one version: answers the tool)",
        response="ToolResponse",
        body="SetToolDefaultRequest",
        errors=(*BODY, 404),
    ),
    ("post", f"{P}/tools:refresh"): Operation(
        "The tools of a connected account's provider, read from the store now",
        response="RefreshToolsResponse",
        body="RefreshToolsRequest",
        errors=(*BODY, 404),
    ),
    ("put", f"{P}/tools"): Operation(
        "Update a tool named by the body's id (fields left out are kept; built-ins: 403)",
        response="ToolResponse",
        body="UpdateToolRequest",
        errors=(*BODY, 403, 404, 409),
    ),
    ("post", f"{P}/tools"): Operation(
        "Create a tool",
        ok=201,
        response="ToolResponse",
        body="ToolRequest",
        errors=(*BODY, 404, 409),
    ),
    ("get", f"{P}/tools/{{key}}"): Operation(
        "Get a tool by id or name", response="ToolResponse", errors=(401, 404)
    ),
    ("put", f"{P}/tools/{{key}}"): Operation(
        "Replace a tool (built-in tools are read-only: 403)",
        response="ToolResponse",
        body="ToolRequest",
        errors=(*BODY, 403, 404, 409),
    ),
    ("delete", f"{P}/tools/{{key}}"): Operation(
        "Delete a tool (built-in tools are read-only: 403)",
        response="Empty",
        errors=(401, 403, 404),
    ),
    ("post", f"{P}/execute_tool"): Operation(
        "Run a tool with an end user's connected account",
        response="ExecuteToolResponse",
        body="ExecuteToolRequest",
        errors=TOOL_ERRORS,
    ),
    ("get", f"{P}/mcp/configs"): Operation(
        "List MCP configs", response="ListMcpConfigsResponse", errors=LIST
    ),
    ("post", f"{P}/mcp/configs"): Operation(
        "Create an MCP config",
        ok=201,
        response="McpConfigResponse",
        body="McpConfigRequest",
        errors=(*BODY, 409),
    ),
    ("get", f"{P}/mcp/configs/{{config_id}}"): Operation(
        "Get an MCP config", response="McpConfigResponse", errors=(401, 404)
    ),
    ("put", f"{P}/mcp/configs/{{config_id}}"): Operation(
        "Update an MCP config",
        response="McpConfigResponse",
        body="McpConfigUpdateRequest",
        errors=(*BODY, 404),
    ),
    ("delete", f"{P}/mcp/configs/{{config_id}}"): Operation(
        "Delete an MCP config", response="Empty", errors=(401, 404)
    ),
    ("post", f"{P}/mcp/configs/{{config_id}}/connected_accounts"): Operation(
        "An end user's accounts on the config's connections, with authorization links",
        response="McpConnectedAccountsResponse",
        body="McpConnectedAccountsRequest",
        errors=(*BODY, 404, 412),
    ),
    ("post", f"{P}/mcp/configs/{{config_id}}/tokens"): Operation(
        "A session token for the config's MCP URL",
        response="McpTokenResponse",
        body="McpTokenRequest",
        errors=(*BODY, 404),
    ),
    ("post", f"{P}/mcp/connections/{{connection_name}}/tokens"): Operation(
        "A session token for one connection's MCP URL",
        response="McpTokenResponse",
        body="McpTokenRequest",
        errors=(*BODY, 404),
    ),
    ("post", f"{P}/mcp/instances"): Operation(
        "Ensure an MCP instance: a user's instance of a config, made when there is none",
        response="McpInstanceResponse",
        body="EnsureMcpInstanceRequest",
        errors=(*BODY, 404),
    ),
    ("get", f"{P}/mcp/instances"): Operation(
        "List MCP instances", response="ListMcpInstancesResponse", errors=LIST
    ),
    ("get", f"{P}/mcp/instances/{{instance_id}}"): Operation(
        "Get an MCP instance", response="McpInstanceResponse", errors=(401, 404)
    ),
    ("patch", f"{P}/mcp/instances/{{instance_id}}"): Operation(
        "Rename an MCP instance or move it to another config (its URL stays)",
        response="McpInstanceResponse",
        body="UpdateMcpInstanceRequest",
        errors=(*BODY, 404, 409),
    ),
    ("delete", f"{P}/mcp/instances/{{instance_id}}"): Operation(
        "Delete an MCP instance (its URL stops working)", response="Empty", errors=(401, 404)
    ),
    ("post", f"{P}/mcp/instances/{{instance_id}}:get_auth_state"): Operation(
        "The instance user's accounts on the config's connections, with authorization links",
        response="McpInstanceAuthStateResponse",
        body="GetMcpInstanceAuthStateRequest",
        errors=(*BODY, 404),
    ),
}

#: methods documented for `/proxy/{path}` (the proxy forwards any method)
PROXY_METHODS = ("get", "post", "put", "patch", "delete")
#: what the proxy itself answers; anything else is the upstream's response, relayed
PROXY_ERRORS = (400, 401, 403, 404, 412, 502, 504)

#: rules the models check in validators (invisible to their JSON Schema), stated in the
#: document too: component → field → JSON Schema keywords for its string values
FIELD_RULES: dict[str, dict[str, dict[str, object]]] = {
    "ProviderDefinition": {"display_name": {"pattern": _DISPLAY_NAME.pattern}},
    "ProviderUpdate": {"display_name": {"pattern": _DISPLAY_NAME.pattern}},
    "InputField": {"field_name": {"pattern": _SNAKE_CASE.pattern, "maxLength": 64}},
    "ConnectionInput": {"key_id": {"pattern": _NAME.pattern}},
}
