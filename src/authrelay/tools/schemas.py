"""OpenAPI schemas as JSON Schema (2020-12) for tool inputs: local `$ref`s inlined with a
cut-off for recursion and for size, OpenAPI-only keywords translated or dropped."""

from __future__ import annotations

from typing import Any

from authrelay_client.wire import JSONObject

MAX_DEPTH = 12  # nesting of inlined references
MAX_NODES = 3_000  # schema objects produced for one tool
_DROP = {
    "discriminator",
    "xml",
    "externalDocs",
    "example",
    "nullable",
    "x-nullable",
    "collectionFormat",
    "in",
    "name",
    "required_in_openapi",
    "allowEmptyValue",
    "style",
    "explode",
    "allowReserved",
    "schema",
}
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}


def trim(text: Any, limit: int) -> str:
    if not isinstance(text, str):
        return ""
    clean = " ".join(text.split())
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


class Inliner:
    """Resolves local references of one document; one instance per tool (the node budget)."""

    def __init__(self, root: JSONObject) -> None:
        self.root = root
        self.nodes = 0

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            return None
        current: Any = self.root
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(current, dict) and part in current:
                current = current[part]
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current

    def deref(self, value: Any, stack: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        """Follow `$ref` chains (parameters, request bodies) to the object they name."""
        seen = stack
        while isinstance(value, dict) and isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if ref in seen or len(seen) > MAX_DEPTH:
                return {}, seen
            seen = (*seen, ref)
            value = self.resolve(ref)
        return value, seen

    def schema(self, value: Any, stack: tuple[str, ...] = (), depth: int = 0) -> JSONObject:
        """JSON Schema for `value`; `{}` (anything) where a reference recurses or a budget
        runs out, with a description saying so."""
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > 40:
            return {"description": "(schema cut: too large)"}
        if isinstance(value, bool):
            return {} if value else {"not": {}}
        if not isinstance(value, dict):
            return {}
        if isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if ref in stack or len(stack) >= MAX_DEPTH:
                name = ref.rsplit("/", 1)[-1]
                return {"type": "object", "description": f"(recursive: {trim(name, 60)})"}
            target = self.resolve(ref)
            if target is None:
                return {}
            return self.schema(target, (*stack, ref), depth + 1)
        out: JSONObject = {}
        for key, item in value.items():
            if not isinstance(key, str) or key in _DROP or key.startswith("x-"):
                continue
            if key in _SCHEMA_LISTS and isinstance(item, list):
                out[key] = [self.schema(v, stack, depth + 1) for v in item[:50]]
            elif key in _SCHEMA_MAPS and isinstance(item, dict):
                out[key] = {
                    str(k): self.schema(v, stack, depth + 1) for k, v in list(item.items())[:300]
                }
            elif key in _SCHEMA_ONE:
                if key == "items" and isinstance(item, list):  # draft-4 tuple form
                    out["prefixItems"] = [self.schema(v, stack, depth + 1) for v in item[:50]]
                elif isinstance(item, dict | bool):
                    out[key] = self.schema(item, stack, depth + 1)
            elif key == "description" or key == "title":
                text = trim(item, 300)
                if text:
                    out[key] = text
            elif key == "type":
                out[key] = self._type(item)
            elif key == "required":
                if isinstance(item, list):
                    names = [r for r in item if isinstance(r, str)]
                    if names:
                        out[key] = list(dict.fromkeys(names))
            elif key in ("exclusiveMaximum", "exclusiveMinimum") and isinstance(item, bool):
                bound = "maximum" if key == "exclusiveMaximum" else "minimum"
                if item and isinstance(value.get(bound), int | float):
                    out[key] = value[bound]
            elif key == "enum" and isinstance(item, list):
                out[key] = item[:500]
            elif key in ("format", "pattern") and isinstance(item, str):
                out[key] = item
            elif key in (
                "default",
                "const",
                "examples",
                "minimum",
                "maximum",
                "minLength",
                "maxLength",
                "minItems",
                "maxItems",
                "uniqueItems",
                "minProperties",
                "maxProperties",
                "multipleOf",
                "readOnly",
                "writeOnly",
                "deprecated",
            ):
                out[key] = item
        if (
            "exclusiveMaximum" in out and value.get("exclusiveMaximum") is True
        ) and "maximum" in out:
            del out["maximum"]
        if (
            "exclusiveMinimum" in out and value.get("exclusiveMinimum") is True
        ) and "minimum" in out:
            del out["minimum"]
        if value.get("nullable") is True or value.get("x-nullable") is True:
            kind = out.get("type")
            if isinstance(kind, str):
                out["type"] = [kind, "null"]
        return out

    @staticmethod
    def _type(item: Any) -> Any:
        if item == "file":
            return "string"
        if isinstance(item, str):
            return item if item in _TYPES else "string"
        if isinstance(item, list):
            kinds = [k for k in item if isinstance(k, str) and k in _TYPES]
            return list(dict.fromkeys(kinds)) or "string"
        return "string"
