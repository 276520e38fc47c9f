"""Cross-field rules for how a request carries credentials upstream (SPEC §3a):
`auth_query_param` and `proxy_headers` on patterns and on the provider.

Like the rules in `validation.py`, these read the raw JSON defensively and report every
violation, whatever the pydantic pass found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from authrelay.errors import FieldViolation
from authrelay_client.providers.urls import PLACEHOLDER

QUERY_PARAM_TYPES = ("API_KEY", "BEARER")
# The account values that hold a pattern's credential, by pattern type: a header template
# naming one of them "places the credential", and the default injection is skipped.
CREDENTIAL_VALUES: dict[str, frozenset[str]] = {
    "API_KEY": frozenset({"api_key"}),
    "BEARER": frozenset({"token"}),
    "BASIC": frozenset({"username", "password"}),
    "OAUTH": frozenset({"access_token"}),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def template_names(template: str) -> list[str]:
    """The `{{field}}` names a header template uses, in order, without repeats."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def _available(pattern: dict[str, Any]) -> set[str]:
    """Names a header template may use for this pattern: its inputs and its credential."""
    kind = pattern.get("type")
    names = set(CREDENTIAL_VALUES.get(kind, frozenset())) if isinstance(kind, str) else set()
    for group in ("fields", "account_fields"):
        for spec in _as_list(pattern.get(group)):
            name = _as_dict(spec).get("field_name")
            if isinstance(name, str):
                names.add(name)
    return names


def _credential_header(pattern: dict[str, Any]) -> str:
    override = pattern.get("auth_header_key_override")
    return override if isinstance(override, str) and override else "Authorization"


def places_credential(kind: str, templates: dict[str, str]) -> bool:
    """Whether header templates carry a pattern's credential themselves."""
    own = CREDENTIAL_VALUES.get(kind, frozenset())
    return any(name in own for t in templates.values() for name in PLACEHOLDER.findall(t))


def _header_rules(
    at: str, headers: dict[Any, Any], patterns: list[tuple[int, dict[str, Any]]]
) -> Iterator[FieldViolation]:
    seen: dict[str, str] = {}
    for name, template in headers.items():
        if not isinstance(name, str) or not isinstance(template, str):
            continue
        where = f"{at}.{name}"
        if name.lower() in seen:
            yield FieldViolation(
                where, f"repeats header {seen[name.lower()]!r} (names ignore case)"
            )
        seen.setdefault(name.lower(), name)
        for used in template_names(template):
            if not _NAME.fullmatch(used):
                yield FieldViolation(
                    where, f"placeholder {{{{{used}}}}} is not a field name (snake_case)"
                )
                continue
            for i, pattern in patterns:
                if used not in _available(pattern):
                    yield FieldViolation(
                        where, f"placeholder {{{{{used}}}}} names no field of auth_patterns[{i}]"
                    )


def _merged(provider: dict[Any, Any], pattern: dict[str, Any]) -> dict[str, str]:
    """A pattern's effective headers: the provider's, then the pattern's (same name, any
    case: the pattern's wins)."""
    out: dict[str, tuple[str, str]] = {}
    for source in (provider, _as_dict(pattern.get("proxy_headers"))):
        for name, template in source.items():
            if isinstance(name, str) and isinstance(template, str):
                out[name.lower()] = (name, template)
    return dict(out.values())


def injection_rules(
    raw: dict[str, Any], patterns: list[tuple[int, dict[str, Any]]]
) -> Iterator[FieldViolation]:
    provider_headers = _as_dict(raw.get("proxy_headers"))
    for i, pattern in patterns:
        at = f"auth_patterns[{i}]"
        kind = pattern.get("type") if isinstance(pattern.get("type"), str) else ""
        query = pattern.get("auth_query_param")
        if query is not None:
            if kind not in QUERY_PARAM_TYPES:
                yield FieldViolation(
                    f"{at}.auth_query_param", "applies only to API_KEY and BEARER patterns"
                )
            if pattern.get("auth_header_key_override") is not None:
                for field, other in (
                    ("auth_query_param", "auth_header_key_override"),
                    ("auth_header_key_override", "auth_query_param"),
                ):
                    yield FieldViolation(
                        f"{at}.{field}",
                        f"cannot be combined with {other}: the credential goes either in the "
                        "query (auth_query_param) or in a header (auth_header_key_override)",
                    )
        own = _as_dict(pattern.get("proxy_headers"))
        yield from _header_rules(f"{at}.proxy_headers", own, [(i, pattern)])
        merged = _merged(provider_headers, pattern)
        if kind and query is None and not places_credential(kind, merged):
            # The default credential header is sent; a template under its name would be
            # dropped silently, so it is refused.
            target = _credential_header(pattern).lower()
            for name in merged:
                if name.lower() == target:
                    where = f"{at}.proxy_headers.{name}" if name in own else f"proxy_headers.{name}"
                    yield FieldViolation(
                        where,
                        f"{name!r} carries the credential of auth_patterns[{i}]; use the "
                        "credential in this template (e.g. {{" + _first(kind) + "}}) or "
                        "choose another header",
                    )
    yield from _header_rules("proxy_headers", provider_headers, patterns)


def _first(kind: str) -> str:
    return sorted(CREDENTIAL_VALUES.get(kind, frozenset({"api_key"})))[-1]
