"""Per-method adapters: where a method's messages and its REST twin's JSON differ in shape, a
function on either side of the generic mapping. Keyed by the method's path; a method absent
here needs none. Each entry says which difference it bridges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Fields = dict[str, Any]


@dataclass(frozen=True)
class Adapter:
    request: Callable[[Fields], Fields] | None = None  # message JSON → REST request JSON
    response: Callable[[Fields], Fields] | None = None  # REST answer → message JSON


ADAPTERS: dict[str, Adapter] = {}


# Select options of a provider's input fields: authrelay keeps each option as its value (a
# string); Scalekit's messages carry an object per option (`{value, display_name,
# description, default}`), and its Python SDK reads them as objects. Answers give each
# option as an object; requests may send objects, of which authrelay keeps the value.


def _field_specs(provider: Any) -> list[Fields]:
    """The input-field specs of a provider JSON's auth patterns (each pattern's lists of
    objects with a `field_name`)."""
    specs: list[Fields] = []
    if not isinstance(provider, dict):
        return specs
    for pattern in provider.get("auth_patterns") or []:
        if not isinstance(pattern, dict):
            continue
        for value in pattern.values():
            if isinstance(value, list):
                specs += [v for v in value if isinstance(v, dict) and "field_name" in v]
    return specs


def _options_as_objects(provider: Any) -> None:
    for spec in _field_specs(provider):
        options = spec.get("options")
        if isinstance(options, list):
            spec["options"] = [
                {"value": o, "display_name": o} if isinstance(o, str) else o for o in options
            ]


def _options_as_values(provider: Any) -> None:
    for spec in _field_specs(provider):
        options = spec.get("options")
        if isinstance(options, list):
            spec["options"] = [
                o["value"] if isinstance(o, dict) and isinstance(o.get("value"), str) else o
                for o in options
            ]


def _answer_with_provider(fields: Fields) -> Fields:
    _options_as_objects(fields.get("provider"))
    return fields


def _answer_with_providers(fields: Fields) -> Fields:
    for provider in fields.get("providers") or []:
        _options_as_objects(provider)
    return fields


def _request_with_provider(fields: Fields) -> Fields:
    _options_as_values(fields.get("provider"))
    return fields


_PROVIDERS = "/scalekit.v1.providers.ProviderService/"
_WRITE = Adapter(request=_request_with_provider, response=_answer_with_provider)
_LIST = Adapter(response=_answer_with_providers)
ADAPTERS.update(
    {
        _PROVIDERS + "CreateProvider": _WRITE,
        _PROVIDERS + "CreateCustomProvider": _WRITE,
        _PROVIDERS + "UpdateProvider": _WRITE,
        _PROVIDERS + "UpdateCustomProvider": _WRITE,
        _PROVIDERS + "ListProviders": _LIST,
        _PROVIDERS + "ListMyProviders": _LIST,
    }
)
