"""A gRPC request message as the REST request its `google.api.http` binding names, as
grpc-gateway reads the same rule the other way round: the path template's fields are
substituted (percent-encoded), `body: "*"` sends every other field as the JSON body,
`body: "<field>"` sends that field as the body and the rest as query parameters, and a
binding without a body sends every other field as query parameters (a repeated field as
repeated keys, a nested message's fields as dotted names). JSON names are the proto field
names (`preserving_proto_field_name`), enums their names, well-known types their JSON forms."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from authrelay.grpc.descriptors import Binding
from authrelay.grpc.status import GrpcError
from authrelay_client.codes import Code

_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")


@dataclass(frozen=True)
class RestRequest:
    """What the REST side is called with."""

    verb: str
    raw_path: str  # percent-encoded
    query: str
    body: bytes | None  # None: no body at all

    @property
    def path(self) -> str:
        return unquote(self.raw_path)


def variables(template: str) -> list[str]:
    """The field paths a path template names, in order (`a.b` for a nested field)."""
    return [m.group(1) for m in _VARIABLE.finditer(template)]


def sample_path(template: str) -> str:
    """The template with each variable as a one-character segment: for matching a binding
    against the application's routes once, whatever the values will be."""
    return _VARIABLE.sub("0", template)


def as_json(message: Message) -> dict[str, Any]:
    """The REST JSON of a message (fields left at their defaults are left out). A whole
    number held as a double (every number of a `google.protobuf.Struct`: a tool's inputs)
    is written as an integer, as the JSON it came from had it: `5`, not `5.0`.

    A message whose set fields are all singular strings, booleans or Structs (ExecuteTool's
    request, and most of the others) is converted here, field by field; any other goes
    through `json_format` (int64 as strings, enums by name, bytes in base64 and so on), which
    gives the same JSON at several times the cost."""
    fields: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.is_repeated:
            break
        if field.type == _STRING or field.type == _BOOL:
            fields[field.name] = value
        elif field.message_type is not None and field.message_type.full_name == _STRUCT:
            fields[field.name] = _struct(value)
        else:
            break
    else:
        return fields
    whole: dict[str, Any] = _whole(
        json_format.MessageToDict(message, preserving_proto_field_name=True)
    )
    return whole


def from_json(fields: dict[str, Any], out: Message) -> None:
    """`json_format.ParseDict(fields, out, ignore_unknown_fields=True)`, with a singular
    string or Struct field given a string or an object set directly (a tool's answer, a
    Struct, is most of ExecuteTool's response, and `ParseDict` walks it value by value)."""
    by_name = out.DESCRIPTOR.fields_by_name
    rest: dict[str, Any] = {}
    for key, value in fields.items():
        field = by_name.get(key)
        if field is None or field.is_repeated:
            rest[key] = value
        elif field.type == _STRING and isinstance(value, str):
            setattr(out, key, value)
        elif (
            isinstance(value, dict)
            and field.message_type is not None
            and field.message_type.full_name == _STRUCT
        ):
            getattr(out, key).update(value)
        else:
            rest[key] = value
    if rest:
        json_format.ParseDict(rest, out, ignore_unknown_fields=True)


_STRING = FieldDescriptor.TYPE_STRING
_BOOL = FieldDescriptor.TYPE_BOOL
_STRUCT = "google.protobuf.Struct"
_EXACT = 2**53  # doubles are exact integers up to here


def _struct(struct: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: Any) -> Any:
    """A `google.protobuf.Value` as JSON, whole numbers as integers (`_whole`)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) <= _EXACT:
            return int(number)
        if not math.isfinite(number):  # json_format refuses it: the same error
            return json_format.MessageToDict(value)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct(value.struct_value)
    if kind == "list_value":
        return [_value(inner) for inner in value.list_value.values]
    return None


def _whole(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) <= _EXACT else value
    if isinstance(value, dict):
        return {key: _whole(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_whole(inner) for inner in value]
    return value


def _take(fields: dict[str, Any], dotted: str) -> Any:
    """Remove and return the value at `dotted` (None when absent)."""
    *parents, last = dotted.split(".")
    current: Any = fields
    for part in parents:
        current = current.get(part) if isinstance(current, dict) else None
    if not isinstance(current, dict):
        return None
    return current.pop(last, None)


def _segment(value: Any, pattern: str | None) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    # A multi-segment pattern (`**`, `a/*`) keeps its slashes; a plain variable is one segment.
    return quote(text, safe="/" if (pattern and "/" in pattern) or pattern == "**" else "")


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out)
    elif isinstance(value, list):
        for item in value:
            _flatten(prefix, item, out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))


def query_of(fields: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    _flatten("", fields, pairs)
    return urlencode(pairs)


def rest_request(binding: Binding, fields: dict[str, Any]) -> RestRequest:
    """The REST request of `binding` for a message's JSON `fields` (consumed)."""

    def substitute(match: re.Match[str]) -> str:
        name, pattern = match.group(1), match.group(2)
        value = _take(fields, name)
        if value is None or value == "":
            raise GrpcError(Code.INVALID_ARGUMENT, f"{name}: required (it is part of the path)")
        return _segment(value, pattern)

    raw_path = _VARIABLE.sub(substitute, binding.template)
    if binding.body == "*":
        return RestRequest(binding.verb, raw_path, "", json.dumps(fields).encode())
    if binding.body:
        value = fields.pop(binding.body, None)
        body = json.dumps({} if value is None else value).encode()
        return RestRequest(binding.verb, raw_path, query_of(fields), body)
    return RestRequest(binding.verb, raw_path, query_of(fields), None)
