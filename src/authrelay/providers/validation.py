"""Validation of provider definitions, reporting every violation at once (SPEC §2, §3).

Two passes over the same input: the pydantic models check each field on its own; the rules
below relate fields to each other (placeholders name fields, credential fields per type,
oauth_config per type, unique field names). The second pass reads the raw JSON defensively,
so both passes report even when the other finds problems.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from authrelay.errors import MAX_VIOLATIONS, FieldViolation, InvalidArgument
from authrelay.providers.grants import client_credentials_rules, input_group, is_client_credentials
from authrelay.providers.injection_rules import injection_rules
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.providers.model import ProviderDefinition
from authrelay_client.providers.urls import PLACEHOLDER, host_placeholders
from authrelay_client.wire import JSONObject

M = TypeVar("M", bound=BaseModel)

CREDENTIAL_FIELD = {"BASIC": "username", "BEARER": "token", "API_KEY": "api_key"}
MUTABLE_FIELDS = {
    "BASIC": {"username", "password"},
    "BEARER": {"token"},
    "API_KEY": {"api_key"},
    "OAUTH": {"token"},
}
# SPEC §3a: `response_type` and `scope` may be set (see oauth/rfc6749.authorization_url).
_RESERVED_AUTHORIZE_PARAMS = {
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
}
_TYPE_NAMES = {
    "string_type": "must be a string",
    "bool_type": "must be a boolean (true or false)",
    "int_type": "must be an integer",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "missing": "is required",
    "extra_forbidden": "unknown field",
}


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {n} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "contains characters that are not allowed"
    return str(error["msg"])


def pydantic_violations(exc: ValidationError) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        # Dict-key errors carry a trailing "[key]" marker; report them on the key's path.
        loc = tuple(p for p in loc if p != "[key]")
        field = format_loc(loc) or "body"
        if error["type"] == "extra_forbidden":
            description = f"unknown field {loc[-1]!r}" if loc else "unknown field"
        else:
            description = _describe(error)
        out.append(FieldViolation(field, description))
    return out


class _Scan:
    """What the pre-scan found: the first MAX_VIOLATIONS problems and how many in all."""

    def __init__(self) -> None:
        self.found: list[FieldViolation] = []
        self.count = 0
        self.flood = False  # a container so far over its limit that pydantic would drown

    def add(self, violation: FieldViolation, weight: int = 1) -> None:
        self.count += weight
        if len(self.found) < MAX_VIOLATIONS:
            self.found.append(violation)


_KNOWN_KEYS: dict[type[BaseModel], frozenset[str]] = {}


def _known_keys(model: type[BaseModel]) -> frozenset[str]:
    keys = _KNOWN_KEYS.get(model)
    if keys is None:
        names = {field.alias or name for name, field in model.model_fields.items()}
        keys = _KNOWN_KEYS[model] = frozenset(names | set(model.model_fields))
    return keys


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[list[Any], int | None]:
    """The plain types an annotation allows (through Annotated and unions) and the largest
    length its constraints allow a list or dict."""
    max_length: int | None = None
    for item in metadata:
        if isinstance(item, MaxLen):
            max_length = item.max_length
    plain: list[Any] = []
    todo = [annotation]
    while todo:
        current = todo.pop()
        origin = get_origin(current)
        if origin is Annotated:
            base, *extras = get_args(current)
            for extra in extras:
                for item in getattr(extra, "metadata", [extra]):
                    if isinstance(item, MaxLen):
                        max_length = item.max_length
            todo.append(base)
        elif origin is Union or origin is types.UnionType:
            todo.extend(get_args(current))
        else:
            plain.append(current)
    return plain, max_length


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _scan_model(model: type[BaseModel], value: dict[Any, Any], path: str, scan: _Scan) -> None:
    if model.model_config.get("extra") == "forbid":
        known = _known_keys(model)
        unknown = [key for key in value if key not in known]
        for key in unknown[: MAX_VIOLATIONS - len(scan.found)]:
            scan.add(FieldViolation(_join(path, str(key)), f"unknown field {key!r}"), 0)
        scan.count += len(unknown)
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in value:
            _scan_value(field.annotation, field.metadata, value[key], _join(path, key), scan)


def _scan_value(annotation: Any, metadata: list[Any], value: Any, path: str, scan: _Scan) -> None:
    if not isinstance(value, (dict, list)):
        return
    plain, max_length = _unwrap(annotation, metadata)
    for kind in plain:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if isinstance(value, dict):
                _scan_model(kind, value, path, scan)
                return
            continue
        origin = get_origin(kind)
        if (origin is list and isinstance(value, list)) or (
            origin is dict and isinstance(value, dict)
        ):
            if max_length is not None and len(value) > max_length:
                scan.add(FieldViolation(path, f"must have at most {max_length} items"))
                scan.flood = scan.flood or len(value) > MAX_VIOLATIONS
                return
            args = get_args(kind)
            if not args:
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    _scan_value(args[0], [], item, _join(path, i), scan)
            else:
                for key, item in value.items():
                    _scan_value(args[-1], [], item, _join(path, str(key)), scan)
            return


def prescan(model: type[BaseModel], raw: JSONObject) -> None:
    """Refuse, before pydantic sees it, a body whose errors would be counted by the thousand
    (unknown keys, lists and maps far over their limits): pydantic reports every one, and
    turning 90,000 of them into an answer held the event loop for most of a second. The
    answer lists the first MAX_VIOLATIONS and says how many more there were."""
    scan = _Scan()
    _scan_model(model, raw, "", scan)
    if scan.count > MAX_VIOLATIONS or scan.flood:
        raise InvalidArgument.from_violations(scan.found, total=scan.count)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _field_names(fields: list[Any]) -> Iterator[tuple[int, str, JSONObject]]:
    for i, f in enumerate(fields):
        if isinstance(f, dict) and isinstance(f.get("field_name"), str):
            yield i, f["field_name"], f


def _pattern_rules(i: int, pattern: JSONObject) -> Iterator[FieldViolation]:
    at = f"auth_patterns[{i}]"
    kind = pattern.get("type") if isinstance(pattern.get("type"), str) else None
    is_mcp = pattern.get("is_mcp") is True
    fields = _as_list(pattern.get("fields"))
    account_fields = _as_list(pattern.get("account_fields"))
    oauth = pattern.get("oauth_config")

    if kind == "OAUTH":
        if oauth is None and not is_mcp:
            yield FieldViolation(f"{at}.oauth_config", "is required for OAUTH patterns")
        elif isinstance(oauth, dict) and not is_mcp:
            machine = is_client_credentials(pattern)
            for key in ("token_uri",) if machine else ("authorize_uri", "token_uri"):
                if oauth.get(key) in (None, ""):
                    yield FieldViolation(f"{at}.oauth_config.{key}", "is required")
        if isinstance(oauth, dict):
            yield from client_credentials_rules(at, pattern, oauth)
    elif kind in CREDENTIAL_FIELD:
        if oauth is not None:
            yield FieldViolation(f"{at}.oauth_config", f"is not allowed for {kind} patterns")
        if account_fields:
            yield FieldViolation(
                f"{at}.account_fields", f"is for OAUTH patterns; put {kind} inputs in fields"
            )
        needed = CREDENTIAL_FIELD[kind]
        if not any(name == needed for _, name, _ in _field_names(fields)):
            yield FieldViolation(f"{at}.fields", f"{kind} patterns need a {needed!r} field")

    yield from _token_exchange_rules(i, kind, pattern)

    seen: dict[str, str] = {}
    for group, items in (("fields", fields), ("account_fields", account_fields)):
        for j, name, spec in _field_names(items):
            where = f"{at}.{group}[{j}].field_name"
            if name in seen:
                yield FieldViolation(where, f"{name!r} is already defined at {seen[name]}")
            else:
                seen[name] = where
            if spec.get("input_type") == "select" and not _as_list(spec.get("options")):
                yield FieldViolation(f"{at}.{group}[{j}].options", "select inputs need options")

    mutations = pattern.get("auth_field_mutations")
    if isinstance(mutations, dict) and kind in MUTABLE_FIELDS:
        for key in mutations:
            if (
                key in {"api_key", "token", "username", "password"}
                and key not in MUTABLE_FIELDS[kind]
            ):
                yield FieldViolation(
                    f"{at}.auth_field_mutations.{key}", f"does not apply to {kind} patterns"
                )

    if isinstance(oauth, dict):
        scopes_seen: set[str] = set()
        for j, scope in enumerate(_as_list(oauth.get("available_scopes"))):
            scope_name = _as_dict(scope).get("scope")
            if isinstance(scope_name, str):
                if scope_name in scopes_seen:
                    yield FieldViolation(
                        f"{at}.oauth_config.available_scopes[{j}].scope", "is listed twice"
                    )
                scopes_seen.add(scope_name)
        reserved = set(_RESERVED_AUTHORIZE_PARAMS)
        if isinstance(oauth.get("custom_scope_name"), str):
            reserved.add(oauth["custom_scope_name"])
        for key in _as_dict(oauth.get("authorization_params")):
            if key in reserved:
                yield FieldViolation(
                    f"{at}.oauth_config.authorization_params.{key}",
                    "is set by authrelay itself and cannot be overridden",
                )
        for key in ("authorize_uri", "token_uri", "user_info_uri"):
            if isinstance(oauth.get(key), str):
                yield from _placeholder_rules(
                    f"{at}.oauth_config.{key}", oauth[key], [(i, pattern)]
                )


def _token_exchange_rules(
    i: int, kind: str | None, pattern: JSONObject
) -> Iterator[FieldViolation]:
    """SPEC §3a "Token exchange": the block belongs to TOKEN_EXCHANGE patterns only, and
    its templates name the pattern's fields (the header template also {{token}})."""
    at = f"auth_patterns[{i}]"
    block = pattern.get("token_exchange")
    if kind != "TOKEN_EXCHANGE":
        if block is not None and kind is not None:
            yield FieldViolation(f"{at}.token_exchange", "is only for TOKEN_EXCHANGE patterns")
        return
    if block is None:
        yield FieldViolation(f"{at}.token_exchange", "is required for TOKEN_EXCHANGE patterns")
    for key, hint in (
        ("oauth_config", "is not allowed for TOKEN_EXCHANGE patterns"),
        ("account_fields", "is for OAUTH patterns; put TOKEN_EXCHANGE inputs in fields"),
        (
            "auth_field_mutations",
            "does not apply to TOKEN_EXCHANGE patterns; use token_exchange.header_template",
        ),
        (
            "auth_header_key_override",
            "does not apply to TOKEN_EXCHANGE patterns; use token_exchange.header_name",
        ),
    ):
        if pattern.get(key) not in (None, [], {}):
            yield FieldViolation(f"{at}.{key}", hint)
    fields = {name: j for j, name, _ in _field_names(_as_list(pattern.get("fields")))}
    if "token" in fields:
        yield FieldViolation(
            f"{at}.fields[{fields['token']}].field_name",
            "'token' names the exchanged token in TOKEN_EXCHANGE patterns; rename the field",
        )
    if not isinstance(block, dict):
        return
    where = f"{at}.token_exchange"
    templates: list[tuple[str, Any]] = [
        *((f"{where}.body.{k}", v) for k, v in _as_dict(block.get("body")).items()),
        *((f"{where}.headers.{k}", v) for k, v in _as_dict(block.get("headers")).items()),
    ]
    for field, template in templates:
        if isinstance(template, str):
            for name in dict.fromkeys(PLACEHOLDER.findall(template)):
                if name not in fields:
                    yield FieldViolation(
                        field, f"placeholder {{{{{name}}}}} names no field of {at}.fields"
                    )
    header = block.get("header_template", "Bearer {{token}}")
    if isinstance(header, str):
        names = PLACEHOLDER.findall(header)
        if "token" not in names:
            yield FieldViolation(f"{where}.header_template", "must contain {{token}}")
        for name in dict.fromkeys(names):
            if name != "token" and name not in fields:
                yield FieldViolation(
                    f"{where}.header_template",
                    f"placeholder {{{{{name}}}}} is neither {{{{token}}}} nor a field of "
                    f"{at}.fields",
                )
    if block.get("expires_in_path") is not None and block.get("expires_in_path") == block.get(
        "token_path"
    ):
        yield FieldViolation(f"{where}.expires_in_path", "must differ from token_path")
    if isinstance(block.get("url"), str):
        yield from _placeholder_rules(f"{where}.url", block["url"], [(i, pattern)])


def _placeholder_rules(
    field: str, url: str, patterns: list[tuple[int, JSONObject]]
) -> Iterator[FieldViolation]:
    """Every {{name}} in `url` must name an input of each pattern (SPEC §3). In the host any
    field may be a placeholder (one whole label, SPEC §3a); in the path, fields marked
    is_path_param (and `version`); `domain` only in the host."""
    names = PLACEHOLDER.findall(url)
    if not names:
        return
    in_host = set(host_placeholders(url))
    in_path = [name for name in names if name not in in_host]
    if "domain" in in_path:
        yield FieldViolation(field, "placeholder {{domain}} belongs in the host part")
    for i, pattern in patterns:
        group = input_group(pattern)
        inputs = {name: spec for _, name, spec in _field_names(_as_list(pattern.get(group)))}
        for name in dict.fromkeys(names):
            spec = inputs.get(name)
            if spec is None:
                yield FieldViolation(
                    field,
                    f"placeholder {{{{{name}}}}} names no field of auth_patterns[{i}].{group}",
                )
            elif (
                name in in_path
                and name not in {"domain", "version"}
                and spec.get("is_path_param") is not True
            ):
                yield FieldViolation(
                    field,
                    f"placeholder {{{{{name}}}}} needs auth_patterns[{i}].{group} field "
                    f"{name!r} to have is_path_param: true",
                )


def _cross_field_rules(raw: JSONObject) -> Iterator[FieldViolation]:
    name = raw.get("display_name")
    if isinstance(name, str) and name and not derive_identifier(name):
        yield FieldViolation("display_name", "must contain at least one letter or digit")
    patterns = [
        (i, p) for i, p in enumerate(_as_list(raw.get("auth_patterns"))) if isinstance(p, dict)
    ]
    for i, pattern in patterns:
        yield from _pattern_rules(i, pattern)
    proxy_url = raw.get("proxy_url")
    if isinstance(proxy_url, str):
        yield from _placeholder_rules("proxy_url", proxy_url, patterns)
    yield from injection_rules(raw, patterns)


def validate_definition(
    raw: Any, allowlist: UpstreamAllowlist, extra: Iterable[FieldViolation] = ()
) -> ProviderDefinition:
    """Parse a provider definition or raise InvalidArgument naming every offending field
    (`extra`: the caller's own findings about the body, reported with the rest)."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object (the provider definition)")
    prescan(ProviderDefinition, raw)
    rules = chain(extra, islice(_cross_field_rules(raw), MAX_VIOLATIONS * 2))
    return validate_with_rules(ProviderDefinition, raw, rules, {"allowlist": allowlist})


def validate_with_rules(
    model: type[M], raw: JSONObject, rules: Iterable[FieldViolation], context: Any = None
) -> M:
    """`raw` as `model`, or InvalidArgument naming every problem once: the model's and those
    of `rules` (the checks across fields that the model does not make)."""
    violations: list[FieldViolation] = []
    parsed: M | None = None
    try:
        parsed = model.model_validate(raw, context=context)
    except ValidationError as exc:
        violations.extend(pydantic_violations(exc))
    known = {(v.field, v.description) for v in violations}
    for violation in rules:
        if (violation.field, violation.description) not in known:
            known.add((violation.field, violation.description))
            violations.append(violation)
    if violations or parsed is None:
        raise InvalidArgument.from_violations(violations)
    return parsed


def parse_strict(model: type[M], raw: Any, extra: list[FieldViolation] | None = None) -> M:
    """Validate `raw` with a strict model, raising InvalidArgument naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    prescan(model, raw)
    violations = list(extra or [])
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        violations.extend(pydantic_violations(exc))
        raise InvalidArgument.from_violations(violations) from None
    if violations:
        raise InvalidArgument.from_violations(violations)
    return parsed
