"""Checking a user's inputs against the provider's auth pattern, and splitting them into
secret values (encrypted) and public ones (domain, version, path parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.providers.model import AuthPattern, InputField, ProviderDefinition
from authrelay.providers.urls import PLACEHOLDER, placeholder_value_problem

CREDENTIAL_NAMES = {"username", "password", "token", "api_key"}
STATIC_AT = "connected_account.authorization_details.static_auth.details"
API_CONFIG_AT = "connected_account.api_config"


def is_secret(spec: InputField) -> bool:
    return spec.field_name in CREDENTIAL_NAMES or spec.input_type == "password"


@dataclass
class StaticInputs:
    values: dict[str, str] = field(default_factory=dict)
    path_variables: dict[str, str] = field(default_factory=dict)

    def public(self, pattern: AuthPattern) -> dict[str, Any]:
        secret = {f.field_name for f in pattern.fields if is_secret(f)}
        out: dict[str, Any] = {k: v for k, v in self.values.items() if k not in secret}
        if self.path_variables:
            out["path_variables"] = dict(self.path_variables)
        return out

    def lookup(self, name: str) -> str | None:
        return self.values.get(name) or self.path_variables.get(name)


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


def placeholder_problems(
    definition: ProviderDefinition, pattern: AuthPattern, lookup: Any, where: dict[str, str]
) -> list[FieldViolation]:
    """Every placeholder of the provider's URLs needs a value that passes SPEC §3's check."""
    names = set(PLACEHOLDER.findall(definition.proxy_url))
    if pattern.oauth_config:
        for url in (pattern.oauth_config.authorize_uri, pattern.oauth_config.token_uri):
            names.update(PLACEHOLDER.findall(url or ""))
    out = []
    for name in sorted(names):
        value = lookup(name)
        at = where.get(name, name)
        if value is None or value == "":
            out.append(FieldViolation(at, f"is required: the provider's URLs use {{{{{name}}}}}"))
            continue
        problem = placeholder_value_problem(name, value)
        if problem:
            out.append(FieldViolation(at, problem))
    return out


def validate_static(
    definition: ProviderDefinition, pattern: AuthPattern, details: dict[str, Any]
) -> StaticInputs:
    """Required fields present, unknown ones refused, select values from options."""
    violations: list[FieldViolation] = []
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
        if checked is not None:
            inputs.values[key] = checked
    for key, value in raw_paths.items():
        where = f"{STATIC_AT}.path_variables.{key}"
        spec = specs.get(key)
        if spec is None or not (spec.is_path_param or key in {"domain", "version"}):
            violations.append(FieldViolation(where, "is not a path parameter of this provider"))
            continue
        checked = _check_value(spec, value, where, violations)
        if checked is not None:
            inputs.path_variables[key] = checked
    for name, spec in specs.items():
        if spec.required and not inputs.lookup(name):
            violations.append(FieldViolation(f"{STATIC_AT}.{name}", "is required"))
    locations = {
        name: f"{STATIC_AT}.path_variables.{name}"
        if name in inputs.path_variables
        else f"{STATIC_AT}.{name}"
        for name in specs
    }
    reported = {v.field for v in violations}
    violations += [
        v
        for v in placeholder_problems(definition, pattern, inputs.lookup, locations)
        if v.field not in reported
    ]
    if violations:
        raise InvalidArgument.from_violations(violations)
    return inputs


def oauth_lookup(api_config: dict[str, Any]) -> Any:
    paths = api_config.get("path_variables")
    paths = paths if isinstance(paths, dict) else {}

    def lookup(name: str) -> str | None:
        value = paths.get(name, api_config.get(name))
        return value if isinstance(value, str) else None

    return lookup


def validate_oauth_inputs(
    definition: ProviderDefinition, pattern: AuthPattern, api_config: dict[str, Any]
) -> None:
    """Account fields (path parameters) of OAuth patterns come from api_config."""
    violations: list[FieldViolation] = []
    paths = api_config.get("path_variables", {})
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise InvalidArgument.field(
            f"{API_CONFIG_AT}.path_variables", "must be an object of strings"
        )
    lookup = oauth_lookup(api_config)
    for spec in pattern.account_fields:
        if spec.required and not lookup(spec.field_name):
            violations.append(
                FieldViolation(f"{API_CONFIG_AT}.path_variables.{spec.field_name}", "is required")
            )
    where = {
        f.field_name: f"{API_CONFIG_AT}.path_variables.{f.field_name}"
        for f in pattern.account_fields
    }
    known = {v.field for v in violations}
    violations += [
        v for v in placeholder_problems(definition, pattern, lookup, where) if v.field not in known
    ]
    if violations:
        raise InvalidArgument.from_violations(violations)
