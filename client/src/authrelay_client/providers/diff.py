"""Readable differences between provider definitions, for review before a change.

Only the fields a provider update actually changes are compared (`display_name`,
`description`, `auth_patterns`, `proxy_url`, `proxy_enabled`, and authrelay's
`proxy_headers` and `retry`). Inside `auth_patterns` the
walk is nested and list items are matched by their natural key — a pattern by its `type`,
a field by its `field_name`, a scope by its `scope` — so a reordered list is not a change
and a renamed label shows as one line, not as two JSON blobs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from authrelay_client.wire import ProviderDefinitionBody

COMPARED = (
    "display_name",
    "description",
    "auth_patterns",
    "proxy_url",
    "proxy_enabled",
    "proxy_headers",
    "retry",
)
_LIST_KEYS = ("type", "field_name", "scope")
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is _MISSING:
            return "added"
        if self.new is _MISSING:
            return "removed"
        return "changed"

    def value(self, value: Any) -> Any:
        """The value for JSON output: None for a missing one."""
        return None if value is _MISSING else value

    def shown(self, value: Any) -> str:
        if value is _MISSING:
            return "—"
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True)


def _key_of(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in _LIST_KEYS:
            if isinstance(item.get(key), str):
                return str(item[key])
    return None


def _walk(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _walk(
                f"{path}.{key}" if path else str(key),
                old.get(key, _MISSING),
                new.get(key, _MISSING),
                out,
            )
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keys = [_key_of(i) for i in old]
        new_keys = [_key_of(i) for i in new]
        keyed = (
            all(k is not None for k in old_keys + new_keys)
            and len(set(old_keys)) == len(old_keys)
            and len(set(new_keys)) == len(new_keys)
        )
        if keyed:
            old_map = dict(zip(old_keys, old, strict=True))
            new_map = dict(zip(new_keys, new, strict=True))
            for key in [*[k for k in old_keys if k], *[k for k in new_keys if k not in old_map]]:
                assert key is not None
                _walk(f"{path}[{key}]", old_map.get(key, _MISSING), new_map.get(key, _MISSING), out)
            return
        for i in range(max(len(old), len(new))):
            _walk(
                f"{path}[{i}]",
                old[i] if i < len(old) else _MISSING,
                new[i] if i < len(new) else _MISSING,
                out,
            )
        return
    if old != new:
        out.append(Change(path, old, new))


# Fields the server sets on a provider it returns; a definition file may hold them (the
# output of `providers get --full`, a catalog file) and they are left out of what is sent.
SERVER_FIELDS = (
    "id",
    "identifier",
    "categories",
    "display_priority",
    "coming_soon",
    "is_custom",
    "is_custom_mcp",
    "created_at",
    "updated_at",
    "etag",
)


def editable(definition: Mapping[str, Any]) -> ProviderDefinitionBody:
    """The definition without server-set fields (and without an empty `icon_src` or an unset
    `proxy_headers` / `retry`, which the SDK's models carry as null)."""
    out = {k: v for k, v in definition.items() if k not in SERVER_FIELDS}
    if out.get("icon_src") in ("", None):
        out.pop("icon_src", None)
    for optional in ("proxy_headers", "retry"):
        if optional in out and out[optional] is None:
            del out[optional]
    return _as_definition(out)


def _as_definition(data: dict[str, Any]) -> ProviderDefinitionBody:
    """JSON read as a definition; what it holds is checked by the server (and by
    `normalized`, which compares it only when the model accepts it)."""
    return cast("ProviderDefinitionBody", data)


def normalized(definition: ProviderDefinitionBody) -> ProviderDefinitionBody:
    """The definition with every omitted optional field filled in with its default, so
    that `description` absent and `description: ""` compare equal. A
    definition the model refuses is returned as it is (the server will name its errors)."""
    from pydantic import ValidationError

    from authrelay_client.providers.allowlist import AllowAnyHost
    from authrelay_client.providers.model import ProviderDefinition

    try:
        model = ProviderDefinition.model_validate(
            editable(definition), context={"allowlist": AllowAnyHost()}
        )
    except (ValidationError, ValueError, TypeError):
        return definition
    return _as_definition(model.model_dump(mode="json"))


def diff_definitions(
    old: ProviderDefinitionBody | None, new: ProviderDefinitionBody
) -> list[Change]:
    """Changes from `old` (None: nothing yet) to `new`, over the compared fields; fields at
    their defaults count as absent on both sides."""
    changes: list[Change] = []
    before_all: Mapping[str, object] = normalized(old) if old is not None else {}
    after_all: Mapping[str, object] = normalized(new)
    for field in COMPARED:
        before = before_all.get(field, _MISSING)
        after = after_all.get(field, _MISSING)
        _walk(field, before, after, changes)
    return changes


def diff_values(old: Any, new: Any) -> list[Change]:
    """Changes between any two JSON values (an audit entry's before and after)."""
    changes: list[Change] = []
    if old is None and isinstance(new, dict):
        old = {}
    if new is None and isinstance(old, dict):
        new = {}
    _walk("", old, new, changes)
    return changes


def scopes_of(definition: ProviderDefinitionBody | None) -> set[str]:
    found: set[str] = set()
    for pattern in (definition or {}).get("auth_patterns", []) or []:
        if not isinstance(pattern, dict):
            continue
        config = pattern.get("oauth_config") or {}
        for scope in config.get("available_scopes", []) or [] if isinstance(config, dict) else []:
            if isinstance(scope, dict) and isinstance(scope.get("scope"), str):
                found.add(scope["scope"])
    return found


def scope_changes(
    old: ProviderDefinitionBody | None, new: ProviderDefinitionBody
) -> tuple[list[str], list[str]]:
    """(added, removed) OAuth scopes."""
    before, after = scopes_of(old), scopes_of(new)
    return sorted(after - before), sorted(before - after)


def definition_of(provider: Mapping[str, Any]) -> ProviderDefinitionBody:
    """The editable definition inside a provider as the API returns it."""
    keys = (
        "display_name",
        "description",
        "auth_patterns",
        "proxy_url",
        "proxy_enabled",
        "icon_src",
        "metadata",
        "proxy_headers",
        "retry",
    )
    return editable({k: provider[k] for k in keys if k in provider})


# The server's PUT keeps a field the body leaves out; the SDK replaces the definition whole,
# so it sends every optional top-level field, its default when the definition has none.
_REPLACED_DEFAULTS: dict[str, Any] = {
    "description": "",
    "proxy_enabled": False,
    "icon_src": None,
    "metadata": {},
    "proxy_headers": None,
    "retry": None,
}


def whole_definition(body: Any) -> Any:
    """`body` with every optional field present, so a PUT replaces the whole definition."""
    if not isinstance(body, dict):
        return body
    return {**_REPLACED_DEFAULTS, **body}
