"""Request bodies of the connection routes (`CreateConnection` / `UpdateConnection`, app
subset). Read-only response fields are refused with a message saying so."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, StringConstraints

from authrelay_client.providers.model import ScopeName, StrictModel
from authrelay_client.wire import JSONObject

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
READ_ONLY = {
    "id",
    "status",
    "create_time",
    "update_time",
    "resolved_proxy_url",
    "redirect_uri",
    "authorize_uri",
    "token_uri",
    "user_info_uri",
    "required_scopes",
}


def _connection_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            "must be 1-100 characters: letters, digits, '_', '-' and '.', starting with a "
            "letter or digit (it travels in the connection_name header)"
        )
    if value.lower().startswith("conn_"):
        # routes take a connection id or name: a name shaped like an id would be ambiguous
        raise ValueError("must not start with 'conn_' (the prefix of connection ids)")
    return value


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _enum_value(value: Any) -> str | int:
    # One check instead of a `str | int` union, whose errors would name "type.str" and
    # "type.int" instead of the field.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be an enum name (a string) or its number")
    return value


ConnectionName = Annotated[str, AfterValidator(_connection_name)]
EnumValue = Annotated[Any, AfterValidator(_enum_value)]
Credential = Annotated[
    str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_printable)
]


class OAuthConnectionInput(StrictModel):
    client_id: Credential | None = None
    client_secret: Credential | None = None
    scopes: list[ScopeName] | None = None
    pkce_enabled: bool | None = None
    prompt: Annotated[str, StringConstraints(max_length=100)] | None = None
    access_type: Annotated[str, StringConstraints(max_length=100)] | None = None
    custom_scope_name: Annotated[str, StringConstraints(max_length=100)] | None = None
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] | None = None
    scope_selection_allowed: bool | None = None
    use_platform_creds: bool | None = None


class ConnectionInput(StrictModel):
    provider_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    type: EnumValue | None = None
    key_id: ConnectionName | None = None
    auth_mode: EnumValue | None = None
    enabled: bool | None = None
    oauth_config: OAuthConnectionInput | None = None
    static_config: JSONObject | None = None


def read_only_fields(raw: Any) -> list[str]:
    """Paths of read-only response fields present in a request body."""
    if not isinstance(raw, dict):
        return []
    found = [key for key in raw if key in READ_ONLY]
    oauth = raw.get("oauth_config")
    if isinstance(oauth, dict):
        found += [f"oauth_config.{key}" for key in oauth if key in READ_ONLY]
    return found


def without_read_only(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    out = {k: v for k, v in raw.items() if k not in READ_ONLY}
    if isinstance(out.get("oauth_config"), dict):
        out["oauth_config"] = {k: v for k, v in out["oauth_config"].items() if k not in READ_ONLY}
    return out
