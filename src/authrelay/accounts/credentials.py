"""Checking a user's inputs against the provider's auth pattern, and splitting them into
secret values (encrypted) and public ones (domain, version, path parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay_client.providers.model import AuthPattern, InputField, ProviderDefinition
from authrelay_client.providers.urls import (
    PLACEHOLDER,
    host_placeholders,
    label_value_problem,
    placeholder_value_problem,
)
from authrelay_client.wire import JSONObject

CREDENTIAL_NAMES = {"username", "password", "token", "api_key", "client_secret"}
STATIC_AT = "connected_account.authorization_details.static_auth.details"
API_CONFIG_AT = "connected_account.api_config"


def is_secret(spec: InputField) -> bool:
    return spec.field_name in CREDENTIAL_NAMES or spec.input_type == "password"


@dataclass
class StaticInputs:
    values: dict[str, str] = field(default_factory=dict)
    path_variables: dict[str, str] = field(default_factory=dict)

    def public(self, pattern: AuthPattern) -> JSONObject:
        secret = {f.field_name for f in pattern.fields if is_secret(f)}
        out: JSONObject = {k: v for k, v in self.values.items() if k not in secret}
        if self.path_variables:
            out["path_variables"] = dict(self.path_variables)
        return out

    def lookup(self, name: str) -> str | None:
        # path variables win, as at proxy time
        return self.path_variables.get(name) or self.values.get(name)


def _check_value(spec: InputField, value: Any, where: str, out: list[FieldViolation]) -> str | None:
    if not isinstance(value, str):
        out.append(FieldViolation(where, "must be a string"))
        return None
    if "\r" in value or "\n" in value or "\x00" in value:
        out.append(FieldViolation(where, "must not contain CR, LF or NUL characters"))
        return None
    if len(value) > 8192:
        out.append(FieldViolation(where, "must be at most 8192 characters"))
        return None
    if spec.input_type == "select" and value and spec.options and value not in spec.options:
        out.append(FieldViolation(where, f"must be one of {', '.join(spec.options)}"))
        return None
    return value


def value_problem(name: str, value: str, host_names: set[str]) -> str | None:
    """Why `value` may not fill {{name}} (SPEC §3, §3a), or None."""
    if name in host_names:  # a host-label placeholder (SPEC §3a): one DNS label
        problem = label_value_problem(value)
        if problem:
            return problem
    # IPv6 literals pass the host-name check of authrelay_client.providers.urls, but "::1" or
    # "[::1]" inside a URL template such as https://{{domain}}.example.com breaks the authority.
    if name == "domain" and any(ch in value for ch in ":[]"):
        return "must be a host name (letters, digits, hyphens and dots; no port, path or '@')"
    return placeholder_value_problem(name, value)


def _urls(definition: ProviderDefinition, pattern: AuthPattern) -> list[str]:
    urls = [definition.proxy_url]
    if pattern.oauth_config:
        oauth = pattern.oauth_config
        urls += [u for u in (oauth.authorize_uri, oauth.token_uri, oauth.user_info_uri) if u]
    if pattern.token_exchange:
        urls.append(pattern.token_exchange.url)
    return urls


def _placeholder_names(definition: ProviderDefinition, pattern: AuthPattern) -> list[str]:
    names: set[str] = set()
    for url in _urls(definition, pattern):
        names.update(PLACEHOLDER.findall(url))
    if pattern.oauth_config:
        for template in (pattern.oauth_config.token_params or {}).values():
            names.update(PLACEHOLDER.findall(template))  # filled values checked alike
    return sorted(names)


def host_names_of(definition: ProviderDefinition, pattern: AuthPattern) -> set[str]:
    """Placeholders standing for one host label in the provider's URLs (not `domain`)."""
    names: set[str] = set()
    for url in _urls(definition, pattern):
        names.update(n for n in host_placeholders(url) if n != "domain")
    return names


def placeholder_problems(
    definition: ProviderDefinition,
    pattern: AuthPattern,
    given: dict[str, list[tuple[str, str]]],
    default_at: dict[str, str],
    *,
    skip: set[str],
    require: bool = True,
) -> list[FieldViolation]:
    """Every placeholder of the provider's URLs needs a value that passes SPEC §3's check.

    `given` maps a placeholder name to each (location, value) the request supplied for it:
    every one is checked, since the proxy may use any of them (path variables win over
    plain fields). Names in `skip` were already reported."""
    out = []
    host_names = host_names_of(definition, pattern)
    for name in _placeholder_names(definition, pattern):
        if name in skip:
            continue
        values = [(at, value) for at, value in given.get(name, []) if value != ""]
        if not values:
            if require:
                out.append(
                    FieldViolation(
                        default_at.get(name, name),
                        f"is required: the provider's URLs use {{{{{name}}}}}",
                    )
                )
            continue
        for at, value in values:
            problem = value_problem(name, value, host_names)
            if problem:
                out.append(FieldViolation(at, problem))
    return out


def validate_static(
    definition: ProviderDefinition, pattern: AuthPattern, details: JSONObject
) -> StaticInputs:
    """Required fields present, unknown ones refused, select values from options, and the
    values the provider's URLs use well formed. Each field is reported once."""
    violations: list[FieldViolation] = []
    reported: set[str] = set()  # field names with a violation already
    specs = {f.field_name: f for f in pattern.fields}
    inputs = StaticInputs()
    raw_paths = details.get("path_variables", {})
    if not isinstance(raw_paths, dict):
        violations.append(FieldViolation(f"{STATIC_AT}.path_variables", "must be an object"))
        raw_paths = {}
    for key, value in details.items():
        if key == "path_variables":
            continue
        where = f"{STATIC_AT}.{key}"
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(specs) or "none"
            violations.append(
                FieldViolation(where, f"unknown field (the pattern's fields: {known})")
            )
            continue
        checked = _check_value(spec, value, where, violations)
        if checked is None:
            reported.add(key)
        else:
            inputs.values[key] = checked
    for key, value in raw_paths.items():
        where = f"{STATIC_AT}.path_variables.{key}"
        spec = specs.get(key)
        if spec is None or not (spec.is_path_param or key in {"domain", "version"}):
            violations.append(FieldViolation(where, "is not a path parameter of this provider"))
            continue
        checked = _check_value(spec, value, where, violations)
        if checked is None:
            reported.add(key)
        else:
            inputs.path_variables[key] = checked

    def location(name: str) -> str:
        if name in inputs.path_variables:
            return f"{STATIC_AT}.path_variables.{name}"
        return f"{STATIC_AT}.{name}"

    for name, spec in specs.items():
        if name not in reported and spec.required and not inputs.lookup(name):
            violations.append(FieldViolation(location(name), "is required"))
            reported.add(name)
    given: dict[str, list[tuple[str, str]]] = {}
    for name, value in inputs.path_variables.items():
        given.setdefault(name, []).append((f"{STATIC_AT}.path_variables.{name}", value))
    for name, value in inputs.values.items():
        given.setdefault(name, []).append((f"{STATIC_AT}.{name}", value))
    violations += placeholder_problems(
        definition, pattern, given, {name: location(name) for name in specs}, skip=reported
    )
    if violations:
        raise InvalidArgument.from_violations(violations)
    return inputs


def validate_oauth_inputs(
    definition: ProviderDefinition,
    pattern: AuthPattern,
    api_config: JSONObject,
    *,
    require: bool = True,
) -> None:
    """Account fields (path parameters) of OAuth patterns come from `api_config`: its
    `path_variables`, or (as the proxy also reads them) its top-level string values.
    Without tokens yet (`require=False`) only the values given are checked."""
    violations: list[FieldViolation] = []
    paths = api_config.get("path_variables", {})
    if not isinstance(paths, dict):
        raise InvalidArgument.field(f"{API_CONFIG_AT}.path_variables", "must be an object")
    reported: set[str] = set()
    for key, value in paths.items():
        where = f"{API_CONFIG_AT}.path_variables.{key}"
        if not isinstance(value, str):
            violations.append(FieldViolation(where, "must be a string"))
            reported.add(key)
        elif "\r" in value or "\n" in value or "\x00" in value:
            violations.append(FieldViolation(where, "must not contain CR, LF or NUL characters"))
            reported.add(key)
    given: dict[str, list[tuple[str, str]]] = {}
    for key, value in paths.items():
        if key not in reported:
            given.setdefault(key, []).append((f"{API_CONFIG_AT}.path_variables.{key}", value))
    for key, value in api_config.items():
        if key != "path_variables" and isinstance(value, str):
            given.setdefault(key, []).append((f"{API_CONFIG_AT}.{key}", value))
    if require:
        for spec in pattern.account_fields:
            name = spec.field_name
            if (
                spec.required
                and name not in reported
                and not any(v for _, v in given.get(name, []))
            ):
                violations.append(
                    FieldViolation(f"{API_CONFIG_AT}.path_variables.{name}", "is required")
                )
                reported.add(name)
    default_at = {
        f.field_name: f"{API_CONFIG_AT}.path_variables.{f.field_name}"
        for f in pattern.account_fields
    }
    violations += placeholder_problems(
        definition, pattern, given, default_at, skip=reported, require=require
    )
    if violations:
        raise InvalidArgument.from_violations(violations)


def oauth_placeholder_values(api_config: JSONObject) -> dict[str, str]:
    """Values for an OAuth account's placeholders: api_config, path_variables first."""
    paths = api_config.get("path_variables") or {}
    merged = {**api_config, **(paths if isinstance(paths, dict) else {})}
    return {k: v for k, v in merged.items() if isinstance(v, str)}
