"""The provider definition (SPEC §3): what create and update accept, field by field.

These models check each field on its own (types, lengths, formats, unknown keys); the rules
that relate fields to each other live in `validation.py`. Validation context carries the
upstream allow-list under the key ``"allowlist"``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.urls import PLACEHOLDER, check_https_url, check_upstream_url

AuthType = Literal["OAUTH", "BASIC", "BEARER", "API_KEY", "TOKEN_EXCHANGE"]
InputType = Literal["text", "password", "select"]
TokenAuthMethod = Literal["client_secret_post", "client_secret_basic"]
GrantType = Literal["authorization_code", "client_credentials"]

_DISPLAY_NAME = re.compile(r"^[A-Za-z0-9 -]+$")
_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_HTTP_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
FORBIDDEN_AUTH_HEADERS = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "connection_name",
    "identifier",
}


def _no_crlf(value: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError("must not contain CR, LF or NUL characters")
    return value


def _display_name(value: str) -> str:
    if not _DISPLAY_NAME.fullmatch(value):
        raise ValueError("may contain only letters, digits, spaces and hyphens")
    if not any(ch.isalnum() for ch in value):
        raise ValueError("must contain at least one letter or digit")
    return value


def _template(value: str) -> str:
    """A value template: no CR, LF or NUL, and every {{...}} a well-formed name."""
    _no_crlf(value)
    for name in PLACEHOLDER.findall(value):
        if not _SNAKE_CASE.fullmatch(name):
            raise ValueError(f"placeholder {{{{{name}}}}} is not a valid field name")
    if "{{" in PLACEHOLDER.sub("", value) or "}}" in PLACEHOLDER.sub("", value):
        raise ValueError("has an unbalanced placeholder: write placeholders as {{name}}")
    return value


def _snake_case(value: str) -> str:
    if not _SNAKE_CASE.fullmatch(value) or len(value) > 64:
        raise ValueError("must be snake_case (a-z, 0-9, underscores; at most 64 characters)")
    return value


def _header_name(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain CR or LF")
    if not _HTTP_TOKEN.fullmatch(value):
        raise ValueError("must be a valid HTTP header name")
    if value.lower() in FORBIDDEN_AUTH_HEADERS:
        raise ValueError(f"{value!r} cannot carry credentials (reserved or hop-by-hop header)")
    return value


def _template_header_name(value: str) -> str:
    _header_name(value)
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    return value


def _param_name(value: str) -> str:
    if not _HTTP_TOKEN.fullmatch(value) or len(value) > 100:
        raise ValueError("must be a valid query parameter name")
    return value


QUERY_PARAM_NAME = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")


def _query_param_name(value: str) -> str:
    # Only characters that need no escaping in a query: the name is sent as it is.
    if not QUERY_PARAM_NAME.fullmatch(value):
        raise ValueError(
            "must be 1-100 characters: letters, digits, '.', '_', '~' or '-' (a query "
            "parameter name sent as it is)"
        )
    return value


def _allowlist(info: ValidationInfo) -> UpstreamAllowlist:
    context = info.context or {}
    allowlist = context.get("allowlist")
    return allowlist if isinstance(allowlist, UpstreamAllowlist) else UpstreamAllowlist([])


ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_crlf)]
LongText = Annotated[str, StringConstraints(max_length=1000)]
FieldName = Annotated[str, AfterValidator(_snake_case)]
ScopeName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
]
MetadataKey = Annotated[str, StringConstraints(min_length=3, max_length=25)]
MetadataValue = Annotated[str, StringConstraints(min_length=1, max_length=256)]


TemplateValue = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_crlf)]
# proxy_headers (SPEC §3a): header name -> value template ({{field}} of the account).
HeaderTemplates = Annotated[
    dict[Annotated[str, AfterValidator(_template_header_name)], TemplateValue],
    Field(max_length=20),
]
RETRY_ON_STATUS_DEFAULT = (429, 502, 503, 504)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)


class InputField(StrictModel):
    field_name: FieldName
    label: ShortText = ""
    input_type: InputType = "text"
    hint: Annotated[str, StringConstraints(max_length=500)] = ""
    required: bool = False
    is_path_param: bool = False
    options: Annotated[list[ShortText], Field(max_length=100)] | None = None


class Scope(StrictModel):
    scope: ScopeName
    display_name: ShortText = ""
    description: LongText = ""
    required: bool = False


class Mutation(StrictModel):
    default: Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_crlf)] | None = (
        None
    )
    prefix: Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_crlf)] | None = (
        None
    )
    suffix: Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_crlf)] | None = (
        None
    )


class FieldMutations(StrictModel):
    api_key: Mutation | None = None
    token: Mutation | None = None
    username: Mutation | None = None
    password: Mutation | None = None


class OAuthConfig(StrictModel):
    authorize_uri: str | None = None
    token_uri: str | None = None
    user_info_uri: str | None = None
    available_scopes: Annotated[list[Scope], Field(max_length=500)] = []
    pkce_enabled: bool = False
    custom_scope_name: Annotated[str, AfterValidator(_param_name)] | None = None
    scope_separator: (
        Annotated[str, StringConstraints(min_length=1, max_length=8), AfterValidator(_no_crlf)]
        | None
    ) = None
    token_auth_method: TokenAuthMethod = "client_secret_post"  # noqa: S105 - a method name
    authorization_params: (
        Annotated[
            dict[
                Annotated[str, AfterValidator(_param_name)],
                Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_crlf)],
            ],
            Field(max_length=50),
        ]
        | None
    ) = None
    allow_use_scalekit_credentials: bool | None = None
    # authrelay extensions (SPEC §3a "Client credentials")
    grant_type: GrantType = "authorization_code"
    token_params: (
        Annotated[
            dict[
                Annotated[str, AfterValidator(_param_name)],
                Annotated[
                    str,
                    StringConstraints(max_length=1000),
                    AfterValidator(_no_crlf),
                    AfterValidator(_template),
                ],
            ],
            Field(max_length=20),
        ]
        | None
    ) = None

    @field_validator("authorize_uri", "token_uri", "user_info_uri")
    @classmethod
    def _upstream(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return check_upstream_url(value, _allowlist(info), allow_query=True)


Template = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_template)]
_TOKEN_PATH = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")


def _token_path(value: str) -> str:
    if len(value) > 200 or not _TOKEN_PATH.fullmatch(value):
        raise ValueError(
            "must be a dot path into the JSON answer, e.g. 'access_token' or 'data.token' "
            "(letters, digits, '_', '-', '$', '@'; list items by number)"
        )
    return value


class TokenExchange(StrictModel):
    """SPEC §3a "Token exchange": how the account's fields are traded for a token."""

    url: str
    method: Literal["POST"] = "POST"
    body_format: Literal["json", "form"] = "json"
    body: Annotated[
        dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], Template],
        Field(max_length=50),
    ] = {}
    headers: Annotated[
        dict[Annotated[str, AfterValidator(_header_name)], Template], Field(max_length=50)
    ] = {}
    token_path: Annotated[str, AfterValidator(_token_path)]
    expires_in_path: Annotated[str, AfterValidator(_token_path)] | None = None
    default_ttl_seconds: Annotated[int, Field(ge=1, le=31_536_000)] | None = None
    header_template: Template = "Bearer {{token}}"
    header_name: Annotated[str, AfterValidator(_header_name)] = "Authorization"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        return check_upstream_url(value, _allowlist(info), allow_query=True)


class AuthPattern(StrictModel):
    type: AuthType
    display_name: ShortText = ""
    description: LongText = ""
    fields: Annotated[list[InputField], Field(max_length=50)] = []
    account_fields: Annotated[list[InputField], Field(max_length=50)] = []
    oauth_config: OAuthConfig | None = None
    auth_header_key_override: Annotated[str, AfterValidator(_header_name)] | None = None
    auth_field_mutations: FieldMutations | None = None
    is_mcp: bool = False
    # authrelay extensions (SPEC §3a)
    auth_query_param: Annotated[str, AfterValidator(_query_param_name)] | None = None
    proxy_headers: HeaderTemplates | None = None
    token_exchange: TokenExchange | None = None


class RetryPolicy(StrictModel):
    """`retry` on a provider (SPEC §3a): attempts in all (1 = no retry), the upstream
    statuses that cause another attempt, and the longest wait before one."""

    max_attempts: Annotated[int, Field(ge=1, le=5)] = 1
    on_status: Annotated[
        list[Annotated[int, Field(ge=400, le=599)]], Field(min_length=1, max_length=20)
    ] = list(RETRY_ON_STATUS_DEFAULT)
    max_wait_seconds: Annotated[float, Field(ge=0, le=60)] = 10.0


class ProviderDefinition(StrictModel):
    """The body of `POST /api/v1/custom-providers` and `PUT .../{identifier}`."""

    display_name: Annotated[
        str, StringConstraints(min_length=1, max_length=200), AfterValidator(_display_name)
    ]
    description: LongText = ""
    auth_patterns: Annotated[list[AuthPattern], Field(min_length=1, max_length=10)]
    proxy_url: str
    proxy_enabled: bool = False
    icon_src: str | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)] = {}
    # authrelay extensions (SPEC §3a)
    proxy_headers: HeaderTemplates | None = None
    retry: RetryPolicy | None = None

    @field_validator("proxy_url")
    @classmethod
    def _proxy_url(cls, value: str, info: ValidationInfo) -> str:
        return check_upstream_url(value, _allowlist(info), allow_query=False)

    @field_validator("icon_src")
    @classmethod
    def _icon(cls, value: str | None) -> str | None:
        return None if value is None else check_https_url(value)

    def public(self) -> dict[str, Any]:
        """The stored form: what the user gave, with the top-level fields always present."""
        data = self.model_dump(mode="json", exclude_unset=True)
        for key in ("description", "proxy_enabled", "metadata"):
            data.setdefault(key, getattr(self, key))
        data["auth_patterns"] = [
            p.model_dump(mode="json", exclude_unset=True) for p in self.auth_patterns
        ]
        return data
