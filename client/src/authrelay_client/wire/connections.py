"""A connection (an environment's app registration with a provider) as the API answers it."""

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import JSONObject, Timestamp

ConnectionType = Literal["OAUTH", "BASIC", "BEARER", "API_KEY", "TOKEN_EXCHANGE"]
ConnectionStatus = Literal["COMPLETED", "DRAFT"]


class ConnectionOAuthConfigBody(TypedDict, total=False):
    """Never carries the client secret."""

    client_id: str
    scopes: list[str]
    redirect_uri: str
    authorize_uri: str | None
    token_uri: str | None
    user_info_uri: str
    required_scopes: list[str]
    pkce_enabled: bool
    custom_scope_name: str
    token_endpoint_auth_method: str
    prompt: str
    access_type: str
    scope_selection_allowed: bool
    use_platform_creds: bool


class ConnectionBody(TypedDict):
    id: str
    type: ConnectionType
    status: ConnectionStatus
    enabled: bool
    provider_key: str
    key_id: str
    auth_mode: NotRequired[str]
    create_time: NotRequired[Timestamp | None]
    update_time: NotRequired[Timestamp | None]
    created_at: NotRequired[Timestamp | None]  # in lists: ListConnection's name for it
    oauth_config: NotRequired[ConnectionOAuthConfigBody | None]
    static_config: NotRequired[JSONObject | None]
    resolved_proxy_url: NotRequired[str]


class ConnectionResponse(TypedDict):
    connection: ConnectionBody


class ListConnectionsResponse(TypedDict):
    connections: list[ConnectionBody]
    next_page_token: str
    total_size: NotRequired[int]


class ListConnectionBody(TypedDict):
    """Scalekit's ListConnection, for an environment connection: no organization, domain or
    SSO provider (those fields keep their empty values)."""

    id: str
    type: ConnectionType
    status: ConnectionStatus
    enabled: bool
    organization_id: str
    ui_button_title: str
    domains: list[str]
    organization_name: str
    provider_key: str
    key_id: str
    created_at: Timestamp | None
    mcp_server_url: str
    auth_mode: str


class ListEnvironmentConnectionsResponse(TypedDict):
    """ListConnections (`GET /api/v1/connections`): no pages, as Scalekit's message has none."""

    connections: list[ListConnectionBody]


class ToggleConnectionResponse(TypedDict):
    enabled: bool
    error_message: str


class ConnectionOAuthConfigInput(TypedDict, total=False):
    """What a connection's OAuth settings accept (the client secret is write-only)."""

    client_id: str | None
    client_secret: str | None
    scopes: list[str] | None
    pkce_enabled: bool | None
    prompt: str | None
    access_type: str | None
    custom_scope_name: str | None
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] | None
    scope_selection_allowed: bool | None
    use_platform_creds: bool | None


class ConnectionRequest(TypedDict, total=False):
    """`POST /api/v1/connections` (and the fields a PATCH changes)."""

    provider_key: str
    type: str | int
    key_id: str
    auth_mode: str
    enabled: bool
    oauth_config: ConnectionOAuthConfigInput
    static_config: JSONObject
