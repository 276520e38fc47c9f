"""Response schemas of the OpenAPI document, written out as JSON Schema (OpenAPI 3.1).

Request bodies come from the pydantic models the services parse with (see `operations.py`);
responses are built by hand in the services, so their shapes are described here, next to
nothing else. Objects stay open (`additionalProperties` is not closed) so that adding a
response field is not a breaking change for generated clients.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: JSON, required: list[str] | None = None, **extra: Any) -> JSON:
    schema: JSON = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


STR: JSON = {"type": "string"}
INT: JSON = {"type": "integer"}
BOOL: JSON = {"type": "boolean"}
TIME: JSON = {"type": "string", "format": "date-time"}
TIME_OR_NULL: JSON = {"anyOf": [TIME, {"type": "null"}]}
STR_LIST: JSON = {"type": "array", "items": STR}
ANY_OBJ: JSON = {"type": "object"}


def _page(item_key: str, item: str, *, prev: bool) -> JSON:
    props: JSON = {
        item_key: {"type": "array", "items": ref(item)},
        "next_page_token": STR,
        "total_size": INT,
    }
    if prev:
        props["prev_page_token"] = STR
    return _obj(props, [item_key, "next_page_token"])


RESPONSE_SCHEMAS: dict[str, JSON] = {
    "Status": _obj(
        {
            "code": {
                "type": "integer",
                "description": "google.rpc.Code: 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, "
                "5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED, 9 FAILED_PRECONDITION, "
                "12 UNIMPLEMENTED, 13 INTERNAL, 14 UNAVAILABLE, 16 UNAUTHENTICATED",
            },
            "message": STR,
            "details": {"type": "array", "items": ref("BadRequest")},
        },
        ["code", "message", "details"],
        description="The error body of every failed call (google.rpc.Status, SPEC §2).",
    ),
    "BadRequest": _obj(
        {
            "@type": {"type": "string", "const": "type.googleapis.com/google.rpc.BadRequest"},
            "field_violations": {"type": "array", "items": ref("FieldViolation")},
        },
        ["@type", "field_violations"],
    ),
    "FieldViolation": _obj({"field": STR, "description": STR}, ["field", "description"]),
    "OAuthError": _obj(
        {
            "error": {
                "type": "string",
                "enum": ["invalid_request", "invalid_client", "unsupported_grant_type"],
            },
            "error_description": STR,
        },
        ["error", "error_description"],
        description="RFC 6749 §5.2 error response of the token endpoint.",
    ),
    "TokenResponse": _obj(
        {
            "access_token": {"type": "string", "description": "A signed JWT (see /keys)."},
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": INT,
        },
        ["access_token", "token_type", "expires_in"],
    ),
    "TokenRequest": _obj(
        {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": STR,
            "client_secret": STR,
        },
        ["grant_type"],
        description="Client credentials in the body, or in an Authorization: Basic header "
        "(then without client_secret here).",
    ),
    "JWKS": _obj(
        {"keys": {"type": "array", "items": ANY_OBJ}},
        ["keys"],
        description="The public keys that verify access tokens (RFC 7517).",
    ),
    "Health": _obj({"status": {"type": "string", "const": "ok"}}, ["status"]),
    "Readiness": _obj(
        {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "database": {"type": "string", "enum": ["ok", "unreachable"]},
        },
        ["status", "database"],
    ),
    "Empty": _obj({}, description="An empty object."),
    "Provider": _obj(
        {
            "id": STR,
            "identifier": STR,
            "display_name": STR,
            "description": STR,
            "categories": STR_LIST,
            "auth_patterns": {"type": "array", "items": ANY_OBJ},
            "icon_src": STR,
            "display_priority": INT,
            "coming_soon": BOOL,
            "proxy_url": STR,
            "proxy_enabled": BOOL,
            "is_custom": BOOL,
            "is_custom_mcp": BOOL,
            "metadata": {"type": "object", "additionalProperties": STR},
            "proxy_headers": {
                "type": "object",
                "additionalProperties": STR,
                "description": "authrelay extension, only when set: header name -> value "
                "template ({{field}} of the account).",
            },
            "retry": _obj(
                {
                    "max_attempts": INT,
                    "on_status": {"type": "array", "items": INT},
                    "max_wait_seconds": {"type": "number"},
                },
                description="authrelay extension, only when set: the retry policy.",
            ),
            "created_at": TIME_OR_NULL,
            "updated_at": TIME_OR_NULL,
            "etag": STR,
        },
        [
            "id",
            "identifier",
            "display_name",
            "auth_patterns",
            "proxy_url",
            "proxy_enabled",
            "is_custom",
            "etag",
        ],
    ),
    "ProviderResponse": _obj({"provider": ref("Provider")}, ["provider"]),
    "ListProvidersResponse": _page("providers", "Provider", prev=True),
    "ConnectionOAuthConfig": _obj(
        {
            "client_id": STR,
            "scopes": STR_LIST,
            "redirect_uri": STR,
            "authorize_uri": {"type": ["string", "null"]},
            "token_uri": {"type": ["string", "null"]},
            "user_info_uri": STR,
            "required_scopes": STR_LIST,
            "pkce_enabled": BOOL,
            "custom_scope_name": STR,
            "token_endpoint_auth_method": STR,
            "prompt": STR,
            "access_type": STR,
            "scope_selection_allowed": BOOL,
            "use_platform_creds": BOOL,
        },
        description="Never carries the client secret.",
    ),
    "Connection": _obj(
        {
            "id": STR,
            "type": {
                "type": "string",
                "enum": ["OAUTH", "BASIC", "BEARER", "API_KEY", "TOKEN_EXCHANGE"],
            },
            "status": {"type": "string", "enum": ["COMPLETED", "DRAFT"]},
            "enabled": BOOL,
            "provider_key": STR,
            "key_id": STR,
            "auth_mode": STR,
            "create_time": TIME_OR_NULL,
            "update_time": TIME_OR_NULL,
            "oauth_config": {"anyOf": [ref("ConnectionOAuthConfig"), {"type": "null"}]},
            "static_config": {"type": ["object", "null"]},
            "resolved_proxy_url": STR,
        },
        ["id", "type", "status", "enabled", "provider_key", "key_id"],
    ),
    "ConnectionResponse": _obj({"connection": ref("Connection")}, ["connection"]),
    "ListConnectionsResponse": _page("connections", "Connection", prev=False),
    "ToggleConnectionResponse": _obj(
        {"enabled": BOOL, "error_message": STR}, ["enabled", "error_message"]
    ),
    "ConnectedAccountForList": _obj(
        {
            "id": STR,
            "identifier": STR,
            "provider": STR,
            "connector": STR,
            "connection_id": STR,
            "status": {
                "type": "string",
                "enum": [
                    "ACTIVE",
                    "PENDING_AUTH",
                    "PENDING_VERIFICATION",
                    "EXPIRED",
                    "DISCONNECTED",
                ],
            },
            "authorization_type": {
                "type": "string",
                "enum": ["OAUTH", "API_KEY", "BASIC", "BEARER_TOKEN", "TOKEN_EXCHANGE"],
            },
            "token_expires_at": TIME_OR_NULL,
            "updated_at": TIME_OR_NULL,
            "last_used_at": TIME_OR_NULL,
            "is_org_wide_credential": BOOL,
            "organization_id": STR,
            "user_id": STR,
        },
        ["id", "identifier", "provider", "connector", "connection_id", "status"],
    ),
    "ConnectedAccount": {
        "allOf": [
            ref("ConnectedAccountForList"),
            _obj(
                {
                    "authorization_details": _obj(
                        {
                            "oauth_token": _obj(
                                {
                                    "access_token": STR,
                                    "refresh_token": STR,
                                    "scopes": STR_LIST,
                                    "domain": STR,
                                    "user_info": ANY_OBJ,
                                },
                                description="Tokens appear only in GET .../auth.",
                            ),
                            "static_auth": _obj({"details": ANY_OBJ}, ["details"]),
                        }
                    ),
                    "api_config": {"type": ["object", "null"]},
                },
                ["authorization_details"],
            ),
        ]
    },
    "ConnectedAccountResponse": _obj(
        {"connected_account": ref("ConnectedAccount")}, ["connected_account"]
    ),
    "ListConnectedAccountsResponse": _page(
        "connected_accounts", "ConnectedAccountForList", prev=True
    ),
    "MagicLinkResponse": _obj({"link": STR, "expiry": TIME}, ["link", "expiry"]),
    "VerifyUserResponse": _obj(
        {"post_user_verify_redirect_url": STR}, ["post_user_verify_redirect_url"]
    ),
    "AuditLogEntry": _obj(
        {
            "id": STR,
            "actor": _obj({"client_id": STR}, ["client_id"]),
            "action": STR,
            "resource_type": STR,
            "resource_id": STR,
            "before": {"type": ["object", "null"]},
            "after": {"type": ["object", "null"]},
            "created_at": TIME,
        },
        ["id", "actor", "action", "resource_type", "resource_id", "created_at"],
    ),
    "ListAuditLogsResponse": _page("audit_logs", "AuditLogEntry", prev=False),
}

TOOL_PROPS: JSON = {
    "id": STR,
    "provider": STR,
    "definition": ANY_OBJ,
    "metadata": ANY_OBJ,
    "tags": STR_LIST,
    "is_default": BOOL,
    "updated_at": TIME,
    "binding": ANY_OBJ,
    "source": STR,
}
TOOL_SCHEMAS: dict[str, JSON] = {
    "Tool": _obj(
        TOOL_PROPS,
        ["id", "provider", "definition", "metadata", "tags", "is_default", "updated_at"],
        description="Scalekit's toolsTool; `binding` and `source` only in the full view.",
    ),
    "ToolResponse": _obj({"tool": ref("Tool")}, ["tool"]),
    "ListToolsResponse": _page("tools", "Tool", prev=True),
    "ScopedTool": _obj(
        {"connected_account_id": STR, "identifier": STR, "tool": ref("Tool")},
        ["connected_account_id", "identifier", "tool"],
    ),
    "ListScopedToolsResponse": _page("tools", "ScopedTool", prev=True),
    "SearchToolsResponse": _obj(
        {
            "results": {
                "type": "array",
                "items": _obj(
                    {"score": {"type": "number"}, "tool": ref("Tool")}, ["score", "tool"]
                ),
            },
            "total_size": INT,
        },
        ["results", "total_size"],
    ),
    "SyncToolsResponse": _obj(
        {
            "provider": STR,
            "created": STR_LIST,
            "updated": STR_LIST,
            "deleted": STR_LIST,
            "unchanged": STR_LIST,
            "dry_run": BOOL,
        },
        ["provider", "created", "updated", "deleted", "unchanged", "dry_run"],
    ),
    "ExecuteToolResponse": _obj({"data": ANY_OBJ, "execution_id": STR}, ["data", "execution_id"]),
    "ToolRequest": _obj(
        {
            "provider": STR,
            "definition": ANY_OBJ,
            "binding": ANY_OBJ,
            "metadata": ANY_OBJ,
            "tags": STR_LIST,
        },
        ["provider", "definition", "binding"],
    ),
    "SearchToolsRequest": _obj(
        {"query": STR, "providers": STR_LIST, "limit": INT},
        ["query"],
    ),
    "SyncToolsRequest": _obj(
        {
            "provider": STR,
            "tools": {"type": "array", "items": ANY_OBJ},
            "prune": {"enum": ["none", "source", "all"]},
            "source": {"enum": ["api", "file", "openapi", "promote"]},
            "dry_run": BOOL,
        },
        ["provider", "tools"],
    ),
    "ExecuteToolRequest": _obj(
        {
            "tool_name": STR,
            "params": ANY_OBJ,
            "tool_input": ANY_OBJ,
            "connected_account_id": STR,
            "identifier": STR,
            "connector": STR,
            "agent_run_id": STR,
            "organization_id": STR,
            "user_id": STR,
        },
        ["tool_name"],
    ),
}
RESPONSE_SCHEMAS.update(TOOL_SCHEMAS)

_MCP_MAPPING: JSON = _obj(
    {
        "connection_name": STR,
        "connection_id": STR,
        "provider": STR,
        "tools": {**STR_LIST, "description": "tool names; empty = all of the provider's"},
    },
    ["connection_name"],
)
_MCP_WRITE_MAPPING: JSON = _obj({"connection_name": STR, "tools": STR_LIST}, ["connection_name"])
_ACCESS_LEVEL: JSON = {"enum": ["FULL", "READ_ONLY"]}
MCP_SCHEMAS: dict[str, JSON] = {
    "McpConfig": _obj(
        {
            "id": STR,
            "name": STR,
            "description": STR,
            "access_level": _ACCESS_LEVEL,
            "mcp_server_url": STR,
            "connection_tool_mappings": {"type": "array", "items": _MCP_MAPPING},
            "created_at": TIME,
            "updated_at": TIME,
        },
        ["id", "name", "description", "access_level", "mcp_server_url"],
        description="Scalekit's mcpMcpConfig, plus `access_level`.",
    ),
    "McpConfigResponse": _obj({"config": ref("McpConfig")}, ["config"]),
    "ListMcpConfigsResponse": _page("configs", "McpConfig", prev=True),
    "McpConfigRequest": _obj(
        {
            "name": {"type": "string", "pattern": "^[a-z0-9_-]{1,100}$"},
            "description": {"type": "string", "maxLength": 2000},
            "access_level": _ACCESS_LEVEL,
            "connection_tool_mappings": {
                "type": "array",
                "items": _MCP_WRITE_MAPPING,
                "minItems": 1,
                "maxItems": 25,
            },
        },
        ["name", "connection_tool_mappings"],
    ),
    "McpConfigUpdateRequest": _obj(
        {
            "description": {"type": "string", "maxLength": 2000},
            "access_level": _ACCESS_LEVEL,
            "connection_tool_mappings": {
                "type": "array",
                "items": _MCP_WRITE_MAPPING,
                "minItems": 1,
                "maxItems": 25,
            },
        }
    ),
    "McpConnectedAccountsRequest": _obj(
        {
            "identifier": {"type": "string", "minLength": 1, "maxLength": 255},
            "include_auth_link": BOOL,
        },
        ["identifier"],
    ),
    "McpConnectedAccountsResponse": _obj(
        {
            "connected_accounts": {
                "type": "array",
                "items": _obj(
                    {
                        "connection_name": STR,
                        "connection_id": STR,
                        "provider": STR,
                        "connected_account_id": STR,
                        "connected_account_status": STR,
                        "authentication_link": STR,
                    },
                    ["connection_name", "connected_account_id", "connected_account_status"],
                ),
            }
        },
        ["connected_accounts"],
    ),
    "McpTokenRequest": _obj(
        {
            "identifier": {"type": "string", "minLength": 1, "maxLength": 255},
            "expiry": {"type": "string", "description": "60s to 86400s; default 3600s"},
        },
        ["identifier"],
    ),
    "McpTokenResponse": _obj(
        {"token": STR, "expires_at": TIME, "mcp_server_url": STR}, ["token", "expires_at"]
    ),
}
RESPONSE_SCHEMAS.update(MCP_SCHEMAS)
