"""JSON Schema (OpenAPI 3.1) from the wire TypedDicts (`authrelay_client.wire`).

Each TypedDict becomes one component: its fields are the properties (inherited ones
first), its required keys the `required` list, its docstring the description. A nested
TypedDict is a `$ref` to its own component; `Literal` is `const`/`enum`; `X | None` is
`["x", "null"]` for plain types and `anyOf` otherwise; `Annotated[X, Schema(...)]` adds
keywords. The wire modules must not use `from __future__ import annotations` (a TypedDict
then cannot see `NotRequired`); tests/api/test_wire_types.py checks it. Objects stay open
(no `additionalProperties: false`) so that adding a response field is not a breaking change
for generated clients.
"""

from __future__ import annotations

import inspect
import types
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin

from typing_extensions import get_type_hints, is_typeddict

from authrelay_client.wire import Schema

JSON = dict[str, Any]
_PLAIN: dict[object, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def component_name(typed: type) -> str:
    """`ProviderBody` is the component `Provider`; other names stand as they are."""
    name = typed.__name__
    return name.removesuffix("Body") if name.endswith("Body") else name


class Components:
    """The component schemas built so far, by name; one name, one type."""

    def __init__(self) -> None:
        self.schemas: dict[str, JSON] = {}
        self._types: dict[str, type] = {}

    def add(self, typed: type) -> JSON:
        """Adds `typed` (and what it contains) and returns a `$ref` to it."""
        name = component_name(typed)
        known = self._types.get(name)
        if known is None:
            self._types[name] = typed
            self.schemas[name] = self._object(typed)
        elif known is not typed:
            raise TypeError(f"two wire types are named {name!r}: {known!r} and {typed!r}")
        return ref(name)

    def _object(self, typed: type) -> JSON:
        hints = get_type_hints(typed, include_extras=True)
        required_keys: frozenset[str] = typed.__required_keys__  # type: ignore[attr-defined]
        base = _typeddict_base(typed)
        if base is not None:  # only the fields it adds, next to a reference to its base
            inherited = get_type_hints(base)
            hints = {key: hint for key, hint in hints.items() if key not in inherited}
        schema: JSON = {
            "type": "object",
            "properties": {key: self.schema(hint) for key, hint in hints.items()},
        }
        required = [key for key in hints if key in required_keys]
        if required:
            schema["required"] = required
        doc = typed.__dict__.get("__doc__")
        if doc:
            schema["description"] = " ".join(inspect.cleandoc(doc).split())
        if base is not None:
            return {"allOf": [self.add(base), schema]}
        return schema

    def schema(self, hint: Any) -> JSON:
        """The JSON Schema of one annotation."""
        origin = get_origin(hint)
        args = get_args(hint)
        if origin in (Required, NotRequired):
            return self.schema(args[0])
        if origin is Annotated:
            out = dict(self.schema(args[0]))
            for extra in hint.__metadata__:
                if isinstance(extra, Schema):
                    out.update(extra.keywords)
            return out
        if is_typeddict(hint):
            return self.add(hint)
        if hint in _PLAIN:
            return {"type": _PLAIN[hint]}
        if hint is type(None):
            return {"type": "null"}
        if hint is Any or hint is object:
            return {}
        if origin is Literal:
            return _literal(args)
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            values = self.schema(args[1])
            return {"type": "object", **({"additionalProperties": values} if values else {})}
        if origin in (Union, types.UnionType):
            return self._union(args)
        raise TypeError(f"no JSON Schema for {hint!r}")

    def _union(self, args: tuple[Any, ...]) -> JSON:
        options = [self.schema(a) for a in args if a is not type(None)]
        nullable = len(options) < len(args)
        if nullable and len(options) == 1 and set(options[0]) == {"type"}:
            return {"type": [options[0]["type"], "null"]}
        return {"anyOf": [*options, *([{"type": "null"}] if nullable else [])]}


def _typeddict_base(typed: type) -> type | None:
    bases = [b for b in getattr(typed, "__orig_bases__", ()) if is_typeddict(b)]
    return bases[0] if bases else None


def _literal(values: tuple[Any, ...]) -> JSON:
    kind = _PLAIN[type(values[0])]
    if len(values) == 1:
        return {"type": kind, "const": values[0]}
    return {"type": kind, "enum": list(values)}


def component_schemas(documented: tuple[type, ...]) -> dict[str, JSON]:
    """The components of `documented` and of every type they contain."""
    components = Components()
    for typed in documented:
        components.add(typed)
    return components.schemas
