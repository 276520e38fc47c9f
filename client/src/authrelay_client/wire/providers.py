"""A provider as the API answers it (built-in and custom alike)."""

from typing import Annotated, Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import JSONObject, Schema, Timestamp


class ProviderRetryBody(TypedDict):
    """authrelay extension, only when set: the retry policy."""

    max_attempts: NotRequired[int]
    on_status: NotRequired[list[int]]
    max_wait_seconds: NotRequired[float]


class ProviderBody(TypedDict):
    id: str
    identifier: str
    display_name: str
    description: NotRequired[str]
    categories: NotRequired[list[str]]
    auth_patterns: list[JSONObject]
    icon_src: NotRequired[str]
    display_priority: NotRequired[int]
    coming_soon: NotRequired[bool]
    proxy_url: str
    proxy_enabled: bool
    is_custom: bool
    is_custom_mcp: NotRequired[bool]
    metadata: NotRequired[dict[str, str]]
    proxy_headers: NotRequired[
        Annotated[
            dict[str, str],
            Schema(
                description="authrelay extension, only when set: header name -> value "
                "template ({{field}} of the account)."
            ),
        ]
    ]
    retry: NotRequired[ProviderRetryBody]
    created_at: NotRequired[Timestamp | None]
    updated_at: NotRequired[Timestamp | None]
    etag: str


class ProviderResponse(TypedDict):
    provider: ProviderBody


class ListProvidersResponse(TypedDict):
    providers: list[ProviderBody]
    next_page_token: str
    prev_page_token: NotRequired[str]
    total_size: NotRequired[int]


# --- a provider definition as JSON (what custom-provider create and update take, what
# definition files hold); `authrelay_client.providers.model.ProviderDefinition` holds its
# rules and defaults ----------------------------------------------------------------------

AuthTypeName = Literal["OAUTH", "API_KEY", "BASIC", "BEARER", "TOKEN_EXCHANGE"]


class InputFieldBody(TypedDict):
    """A credential or account field an auth pattern asks for."""

    field_name: str
    label: NotRequired[str]
    input_type: NotRequired[str]
    hint: NotRequired[str]
    required: NotRequired[bool]
    is_path_param: NotRequired[bool]
    options: NotRequired[list[str] | None]


class ScopeBody(TypedDict):
    scope: str
    display_name: NotRequired[str]
    description: NotRequired[str]
    required: NotRequired[bool]


class MutationBody(TypedDict, total=False):
    default: str | None
    prefix: str | None
    suffix: str | None


class FieldMutationsBody(TypedDict, total=False):
    api_key: MutationBody | None
    token: MutationBody | None
    username: MutationBody | None
    password: MutationBody | None


class OAuthConfigFragment(TypedDict, total=False):
    """An auth pattern's `oauth_config` (the keys inference and the diff read; the model
    has the rest)."""

    authorize_uri: str | None
    token_uri: str | None
    user_info_uri: str | None
    available_scopes: list[ScopeBody]
    grant_type: str


class AuthPatternBody(TypedDict):
    type: AuthTypeName
    display_name: NotRequired[str]
    description: NotRequired[str]
    fields: NotRequired[list[InputFieldBody]]
    account_fields: NotRequired[list[InputFieldBody]]
    oauth_config: NotRequired[OAuthConfigFragment | None]
    auth_header_key_override: NotRequired[str | None]
    auth_field_mutations: NotRequired[FieldMutationsBody | None]
    is_mcp: NotRequired[bool]
    auth_query_param: NotRequired[str | None]
    proxy_headers: NotRequired[dict[str, str] | None]


class ProviderDefinitionBody(TypedDict, total=False):
    display_name: str
    description: str
    auth_patterns: list[AuthPatternBody]
    proxy_url: str
    proxy_enabled: bool
    icon_src: str | None
    metadata: dict[str, str]
    proxy_headers: dict[str, str] | None
    retry: ProviderRetryBody | None
