"""A connected account (one end user's credentials on one connection) as the API answers
it, and the calls around its authorization; the audit log entries."""

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import JSONObject, Timestamp

AccountStatus = Literal["ACTIVE", "PENDING_AUTH", "PENDING_VERIFICATION", "EXPIRED", "DISCONNECTED"]
AuthorizationType = Literal["OAUTH", "API_KEY", "BASIC", "BEARER_TOKEN", "TOKEN_EXCHANGE"]


class OAuthTokenBody(TypedDict, total=False):
    """Tokens appear only in GET .../auth."""

    access_token: str
    refresh_token: str
    scopes: list[str]
    domain: str
    user_info: JSONObject


class StaticAuthBody(TypedDict):
    details: JSONObject


class AuthorizationDetailsBody(TypedDict, total=False):
    oauth_token: OAuthTokenBody
    static_auth: StaticAuthBody


class ConnectedAccountForListBody(TypedDict):
    id: str
    identifier: str
    provider: str
    connector: str
    connection_id: str
    status: AccountStatus
    authorization_type: NotRequired[AuthorizationType]
    token_expires_at: NotRequired[Timestamp | None]
    updated_at: NotRequired[Timestamp | None]
    last_used_at: NotRequired[Timestamp | None]
    is_org_wide_credential: NotRequired[bool]
    organization_id: NotRequired[str]
    user_id: NotRequired[str]


class ConnectedAccountBody(ConnectedAccountForListBody):
    authorization_details: AuthorizationDetailsBody
    api_config: NotRequired[JSONObject | None]


class ConnectedAccountResponse(TypedDict):
    connected_account: ConnectedAccountBody


class ListConnectedAccountsResponse(TypedDict):
    connected_accounts: list[ConnectedAccountForListBody]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


class MagicLinkResponse(TypedDict):
    link: str
    expiry: Timestamp


class VerifyUserResponse(TypedDict):
    post_user_verify_redirect_url: str


class AuditActorBody(TypedDict):
    client_id: str


class AuditLogEntryBody(TypedDict):
    id: str
    actor: AuditActorBody
    action: str
    resource_type: str
    resource_id: str
    before: NotRequired[JSONObject | None]
    after: NotRequired[JSONObject | None]
    created_at: Timestamp


class ListAuditLogsResponse(TypedDict):
    audit_logs: list[AuditLogEntryBody]
    next_page_token: str
    total_size: NotRequired[int]


# --- what the SDK sends (the server reads these bodies with its own pydantic models) ------


class OAuthTokenInput(TypedDict):
    access_token: str
    refresh_token: NotRequired[str | None]
    scopes: NotRequired[list[str] | None]
    domain: NotRequired[str | None]


class AuthorizationDetailsInput(TypedDict, total=False):
    """An account's credentials: OAuth tokens, or the static fields of its auth pattern."""

    oauth_token: OAuthTokenInput
    static_auth: StaticAuthBody


class AccountFieldsInput(TypedDict, total=False):
    authorization_details: AuthorizationDetailsInput
    api_config: JSONObject


class ScopeSelectionInput(TypedDict, total=False):
    scopes: list[str]
    optional_scopes: list[str]


class ConnectedAccountRequest(TypedDict, total=False):
    """Create (`connector`, `identifier`), update and delete (those, or `id`)."""

    connector: str
    identifier: str
    id: str
    organization_id: str
    user_id: str
    scope_selection: ScopeSelectionInput
    connected_account: AccountFieldsInput


class AccountFilters(TypedDict):
    """The query of `GET /api/v1/connected_accounts` (None: not filtered)."""

    connector: str | None
    identifier: str | None
    provider: str | None
    query: str | None
    connection_names: list[str] | None
    organization_id: str | None
    user_id: str | None


class MagicLinkRequest(TypedDict):
    connector: str
    identifier: str
    state: NotRequired[str]
    user_verify_url: NotRequired[str]
    api_config: NotRequired[dict[str, str]]
