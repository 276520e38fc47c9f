"""A tool as the API takes it: Scalekit's `toolsTool` definition plus authrelay's binding.

Validation reports every offending field at once: pydantic checks each field, then the rules
below relate fields to each other on the raw JSON (path placeholders name path inputs, bound
inputs exist in the input schema, schemas are valid JSON Schema).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.providers.validation import format_loc, validate_with_rules
from authrelay_client.wire import JSONObject

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_DESCRIPTION = 4000
DEFAULT_MAX_BYTES = 1_000_000
MAX_RESPONSE_BYTES = 20_000_000
Location = Literal["path", "query", "header", "body", "body_root"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_RESERVED_HEADERS = {"authorization", "cookie", "content-type", "content-length", "host"}
_HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$")
# One validator of the 2020-12 meta-schema, built once (building one per check costs more
# than the check).
META_VALIDATOR = Draft202012Validator(Draft202012Validator.META_SCHEMA)
_CHECKED: dict[str, bool] = {}  # property schema (canonical JSON) → valid; imports repeat them


def _property_valid(schema: Any) -> bool:
    key = json.dumps(schema, sort_keys=True, default=str)
    known = _CHECKED.get(key)
    if known is None:
        if len(_CHECKED) > 20_000:
            _CHECKED.clear()
        known = _CHECKED[key] = bool(META_VALIDATOR.is_valid(schema))
    return known


def schema_valid(schema: JSONObject) -> bool:
    """Whether `schema` is valid JSON Schema 2020-12. Equivalent to validating it against
    the meta-schema, done in remembered parts: the schema without `properties` and
    `required`, each property schema, and `required` (unique strings) checked here, since
    imports repeat the same parts and the meta-schema check is slow."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if (
        isinstance(properties, dict)
        and isinstance(required, list)
        and all(isinstance(r, str) for r in required)
        and len(set(required)) == len(required)
    ):
        rest = {k: v for k, v in schema.items() if k not in ("properties", "required")}
        return _property_valid(rest) and all(_property_valid(p) for p in properties.values())
    return bool(META_VALIDATOR.is_valid(schema))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Annotations(_Strict):
    """MCP's tool annotations, in Scalekit's snake_case; defaults are MCP's."""

    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    read_only_hint: bool = False
    destructive_hint: bool = True
    idempotent_hint: bool = False
    open_world_hint: bool = True


def is_read_only(definition: Any) -> bool:
    """The one rule for a read-only tool (what a `READ_ONLY` MCP config or session token
    serves): its annotations say `read_only_hint: true`. Tools generated from OpenAPI get it
    for `GET` and `HEAD` operations (`tools.generate`); others say so themselves."""
    notes = definition.get("annotations") if isinstance(definition, dict) else None
    return isinstance(notes, dict) and notes.get("read_only_hint") is True


class ToolDefinition(_Strict):
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)] = ""
    input_schema: JSONObject
    output_schema: JSONObject | None = None
    annotations: Annotations = Field(default_factory=Annotations)


class Param(_Strict):
    """Where one input goes: `in` a location, under `name` on the wire (default: the
    input's own name). `body_root` sends the input as the whole request body."""

    location: Location = Field(alias="in")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class ResponseRule(_Strict):
    """Which part of the answer to return (a JSON Pointer, "" for all) and a size cap."""

    select: Annotated[str, StringConstraints(max_length=500)] = ""
    max_bytes: Annotated[int, Field(ge=1, le=MAX_RESPONSE_BYTES)] = DEFAULT_MAX_BYTES


class Binding(_Strict):
    method: Method
    path: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    params: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], Param] = Field(
        default_factory=dict
    )
    headers: (
        dict[
            Annotated[str, StringConstraints(pattern=_HEADER_TOKEN.pattern)],
            Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\r\n]*$")],
        ]
        | None
    ) = None
    content_type: Literal["application/json", "application/x-www-form-urlencoded"] = (
        "application/json"
    )
    response: ResponseRule = Field(default_factory=ResponseRule)

    def location_of(self, name: str) -> tuple[Location, str]:
        """(location, wire name) of an input; unbound inputs go to the query string for
        GET/HEAD/DELETE and to the JSON body otherwise."""
        param = self.params.get(name)
        if param is not None:
            return param.location, param.name or name
        return ("query" if self.method in {"GET", "HEAD", "DELETE"} else "body"), name


Tag = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ToolInput(_Strict):
    """The body of `POST /api/v1/tools` and `PUT /api/v1/tools/{id}`, and one entry of a
    provider file's `tools` list."""

    provider: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    definition: ToolDefinition
    binding: Binding
    metadata: JSONObject = Field(default_factory=dict)
    tags: Annotated[list[Tag], Field(max_length=50)] = Field(default_factory=list)

    def public_binding(self) -> JSONObject:
        return self.binding.model_dump(by_alias=True, exclude_none=True)


def _dict(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def schema_problems(schema: Any, where: str) -> Iterator[FieldViolation]:
    """Violations of one schema: valid JSON Schema (2020-12) describing an object."""
    if not isinstance(schema, dict):
        return
    try:
        if schema_valid(schema):
            return
        error = best_match(META_VALIDATOR.iter_errors(schema))
    except RecursionError:
        yield FieldViolation(where, "is nested too deeply")
        return
    if error is not None:
        inner = format_loc(tuple(error.path))
        yield FieldViolation(f"{where}.{inner}" if inner else where, error.message[:300])


def _binding_rules(raw: JSONObject) -> Iterator[FieldViolation]:
    definition = _dict(raw.get("definition"))
    binding = _dict(raw.get("binding"))
    schema = _dict(definition.get("input_schema"))
    properties = _dict(schema.get("properties"))
    raw_required = schema.get("required")
    required: list[Any] = raw_required if isinstance(raw_required, list) else []
    params = _dict(binding.get("params"))
    raw_path = binding.get("path")
    path: str = raw_path if isinstance(raw_path, str) else ""
    if path and not path.startswith("/"):
        yield FieldViolation("binding.path", "must start with '/' (it is joined to proxy_url)")
    if any(bad in path for bad in ("//", "?", "#", "\\")) or any(
        segment in (".", "..") for segment in path.split("/")
    ):
        yield FieldViolation(
            "binding.path", "must not contain . or .. segments, //, ?, # or a backslash"
        )
    path_wire: dict[str, str] = {}
    roots = 0
    has_body = False
    for name, param in params.items():
        spec = _dict(param)
        where = spec.get("in")
        raw_wire = spec.get("name")
        wire: str = raw_wire if isinstance(raw_wire, str) else name
        if properties and name not in properties:
            yield FieldViolation(
                f"binding.params.{name}", "is not a property of definition.input_schema"
            )
        if where == "path":
            path_wire[wire] = name
        elif where == "header" and not _HEADER_TOKEN.match(wire):
            yield FieldViolation(f"binding.params.{name}.name", "is not a valid header name")
        elif where == "body_root":
            roots += 1
        elif where == "body":
            has_body = True
    if roots > 1 or (roots and has_body):
        yield FieldViolation(
            "binding.params", "at most one input may be body_root, and then no body inputs"
        )
    placeholders = PLACEHOLDER.findall(path)
    for placeholder in placeholders:
        if placeholder not in path_wire:
            yield FieldViolation(
                "binding.path",
                f"placeholder {{{placeholder}}} has no input bound to it "
                f"(binding.params.<input> with in: path)",
            )
        elif path_wire[placeholder] not in required:
            yield FieldViolation(
                "definition.input_schema.required",
                f"must list {path_wire[placeholder]!r}: it fills the path",
            )
    for header in _dict(binding.get("headers")):
        if isinstance(header, str) and header.lower() in _RESERVED_HEADERS:
            yield FieldViolation(
                f"binding.headers.{header}", "is set by authrelay (credentials, body type)"
            )
    for wire, name in path_wire.items():
        if wire not in placeholders:
            yield FieldViolation(f"binding.params.{name}", f"binding.path has no {{{wire}}}")


def _definition_rules(raw: JSONObject) -> Iterator[FieldViolation]:
    definition = _dict(raw.get("definition"))
    schema = definition.get("input_schema")
    if isinstance(schema, dict):
        if schema.get("type") != "object":
            yield FieldViolation("definition.input_schema.type", 'must be "object"')
        yield from schema_problems(schema, "definition.input_schema")
    if isinstance(definition.get("output_schema"), dict):
        yield from schema_problems(definition["output_schema"], "definition.output_schema")


def validate_tool(raw: Any) -> ToolInput:
    """Parse a tool or raise InvalidArgument naming every offending field."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object (the tool)")
    rules = chain(_definition_rules(raw), _binding_rules(raw))
    return validate_with_rules(ToolInput, raw, rules)
