"""Account fields an OAuth flow needs before its redirect (SPEC §3a): the placeholders of
`authorize_uri`, `token_uri` and `user_info_uri`, such as the tenant in
`https://{{subdomain}}.zendesk.com/oauth/authorizations/new`.

They come from the account's `api_config`, from `api_config` given when the magic link was
created, or from a hosted form shown before the redirect. Values given with the link or the
form travel with the flow (encrypted with it) and are merged into the account's `api_config`
only when the authorization succeeds, so an active account keeps its host until then.
"""

from __future__ import annotations

from typing import Any

from authrelay.accounts import credentials
from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.oauth.flow_secrets import FlowSecrets
from authrelay.store.models import ConnectedAccount
from authrelay_client.providers.model import AuthPattern, InputField, ProviderDefinition
from authrelay_client.providers.urls import PLACEHOLDER

LINK_API_CONFIG_AT = "api_config"


def _oauth_urls(pattern: AuthPattern) -> list[str]:
    oauth = pattern.oauth_config
    if oauth is None:
        return []
    return [u for u in (oauth.authorize_uri, oauth.token_uri, oauth.user_info_uri) if u]


def needed_names(pattern: AuthPattern) -> list[str]:
    """Placeholder names of the pattern's OAuth URLs, in order of first use."""
    names: dict[str, None] = {}
    for url in _oauth_urls(pattern):
        names.update(dict.fromkeys(PLACEHOLDER.findall(url)))
    return list(names)


def value_problem(
    definition: ProviderDefinition, pattern: AuthPattern, name: str, value: str
) -> str | None:
    """Why `value` may not fill {{name}} in any of the provider's URLs, or None."""
    if "\r" in value or "\n" in value or "\x00" in value:
        return "must not contain CR, LF or NUL characters"
    used = {
        n for url in [definition.proxy_url, *_oauth_urls(pattern)] for n in PLACEHOLDER.findall(url)
    }
    if name not in used:
        return None  # not in any URL: any single-line string
    return credentials.value_problem(name, value, credentials.host_names_of(definition, pattern))


def check_link_api_config(
    definition: ProviderDefinition, pattern: AuthPattern, api_config: dict[str, Any]
) -> dict[str, str]:
    """`api_config` of a magic-link request: account fields of an OAuth pattern, each a
    string that may fill the URLs using it. Raises InvalidArgument naming every bad key."""
    if pattern.type != "OAUTH":
        raise InvalidArgument.field(
            LINK_API_CONFIG_AT,
            f"is for OAUTH connections; a {pattern.type} link's hosted form asks for the fields",
        )
    specs = {f.field_name for f in pattern.account_fields}
    violations: list[FieldViolation] = []
    out: dict[str, str] = {}
    for key, value in api_config.items():
        where = f"{LINK_API_CONFIG_AT}.{key}"
        if key not in specs:
            known = ", ".join(sorted(specs)) or "none"
            violations.append(
                FieldViolation(where, f"unknown field (the pattern's account_fields: {known})")
            )
        elif not isinstance(value, str):
            violations.append(FieldViolation(where, "must be a string"))
        elif len(value) > 253:
            violations.append(FieldViolation(where, "must be at most 253 characters"))
        else:
            problem = value_problem(definition, pattern, key, value)
            if problem:
                violations.append(FieldViolation(where, problem))
            else:
                out[key] = value
    if violations:
        raise InvalidArgument.from_violations(violations)
    return out


def missing(pattern: AuthPattern, values: dict[str, str]) -> list[InputField]:
    """The account fields the OAuth URLs use that have no value yet."""
    specs = {f.field_name: f for f in pattern.account_fields}
    return [specs[n] for n in needed_names(pattern) if n in specs and not values.get(n)]


def check_form(
    definition: ProviderDefinition,
    pattern: AuthPattern,
    specs: list[InputField],
    form: dict[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """The hosted form's values for `specs`, and errors by field name."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        value = form.get(spec.field_name, "").strip()
        if not value:
            errors[spec.field_name] = "is required"
            continue
        if spec.input_type == "select" and spec.options and value not in spec.options:
            errors[spec.field_name] = f"must be one of {', '.join(spec.options)}"
            continue
        problem = value_problem(definition, pattern, spec.field_name, value)
        if problem:
            errors[spec.field_name] = problem
        else:
            values[spec.field_name] = value
    return values, errors


def flow_api_config(secret: FlowSecrets) -> dict[str, str]:
    given = secret.get("api_config")
    if not isinstance(given, dict):
        return {}
    return {k: v for k, v in given.items() if isinstance(k, str) and isinstance(v, str)}


def apply_api_config(account: ConnectedAccount, given: dict[str, str]) -> None:
    """Merge the values a flow collected into the account (on success only)."""
    if not given:
        return
    merged = {**(account.api_config or {}), **given}
    paths = merged.get("path_variables")
    if isinstance(paths, dict):  # path_variables win when read: keep them in step
        merged["path_variables"] = {
            **paths,
            **{k: v for k, v in given.items() if k in paths},
        }
    account.api_config = merged
