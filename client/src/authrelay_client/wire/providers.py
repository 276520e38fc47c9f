"""A provider as the API answers it (built-in and custom alike)."""

from typing import Annotated, NotRequired

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
