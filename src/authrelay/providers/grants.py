"""Cross-field rules of the client-credentials grant and of `oauth_config.token_params`
(SPEC §3a "Client credentials"), read from the raw definition like the rest of
`validation.py`, so they report even when the models find other problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from authrelay.errors import FieldViolation
from authrelay_client.providers.model import AuthPattern
from authrelay_client.providers.urls import PLACEHOLDER

CLIENT_CREDENTIALS = "client_credentials"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Token-request parameters authrelay sets itself; token_params cannot override them.
RESERVED_TOKEN_PARAMS = frozenset(
    {
        "grant_type",
        "client_id",
        "client_secret",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
    }
)
CLIENT_FIELDS = ("client_id", "client_secret")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [f["field_name"] for f in items if isinstance(f, dict) and f.get("field_name")]


def uses_client_credentials(pattern: AuthPattern) -> bool:
    """A parsed pattern using the client-credentials grant."""
    oauth = pattern.oauth_config
    return pattern.type == "OAUTH" and oauth is not None and oauth.grant_type == CLIENT_CREDENTIALS


def is_client_credentials(pattern: dict[str, Any]) -> bool:
    """A raw OAUTH pattern using the client-credentials grant."""
    return (
        pattern.get("type") == "OAUTH"
        and _dict(pattern.get("oauth_config")).get("grant_type") == CLIENT_CREDENTIALS
    )


def input_group(pattern: dict[str, Any]) -> str:
    """Where a raw pattern declares the inputs its placeholders name: `account_fields` for
    the authorization-code grant, `fields` otherwise (static patterns, client credentials)."""
    if pattern.get("type") == "OAUTH" and not is_client_credentials(pattern):
        return "account_fields"
    return "fields"


def client_credentials_rules(
    at: str, pattern: dict[str, Any], oauth: dict[str, Any]
) -> Iterator[FieldViolation]:
    """The rules of an OAUTH pattern's `grant_type` and `token_params`."""
    where = f"{at}.oauth_config"
    if is_client_credentials(pattern):
        for key in ("authorize_uri", "user_info_uri"):
            if oauth.get(key) not in (None, ""):
                yield FieldViolation(
                    f"{where}.{key}",
                    "is not used by the client_credentials grant (there is no user "
                    "redirect); remove it",
                )
        if oauth.get("pkce_enabled") is True:
            yield FieldViolation(
                f"{where}.pkce_enabled", "applies to the authorization_code grant only"
            )
        if pattern.get("account_fields"):
            yield FieldViolation(
                f"{at}.account_fields",
                "client_credentials patterns take their inputs in fields (a form, or "
                "static_auth.details)",
            )
        declared = [n for n in CLIENT_FIELDS if n in _names(pattern.get("fields"))]
        if len(declared) == 1:
            missing = next(n for n in CLIENT_FIELDS if n not in declared)
            yield FieldViolation(
                f"{at}.fields",
                f"declares {declared[0]!r} without {missing!r}: declare both (each account "
                "brings its own API client) or neither (the connection's client is used)",
            )
    params = oauth.get("token_params")
    if not isinstance(params, dict):
        return
    reserved = set(RESERVED_TOKEN_PARAMS)
    if isinstance(oauth.get("custom_scope_name"), str):
        reserved.add(oauth["custom_scope_name"])
    group = input_group(pattern)
    inputs = set(_names(pattern.get(group)))
    for key, template in params.items():
        field = f"{where}.token_params.{key}"
        if key in reserved:
            yield FieldViolation(field, "is set by authrelay itself and cannot be overridden")
        if not isinstance(template, str):
            continue
        for name in dict.fromkeys(PLACEHOLDER.findall(template)):
            if _NAME.fullmatch(name) and name not in inputs:  # bad names: the model says
                yield FieldViolation(
                    field, f"placeholder {{{{{name}}}}} names no field of {at}.{group}"
                )
