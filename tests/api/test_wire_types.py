"""`authrelay_client.wire` stands alone (it ships with the client), and `openapi/typed.py`
turns its TypedDicts into the JSON Schema the document serves.

No `from __future__ import annotations` here nor in `authrelay_client.wire`: with string
annotations a TypedDict cannot tell `NotRequired` fields (its `__required_keys__` would be
wrong), so the wire modules are checked for it too."""

import ast
from pathlib import Path
from typing import Annotated, Literal, NotRequired

import pytest
from typing_extensions import TypedDict

import authrelay_client.wire
from authrelay.openapi.typed import Components, component_name
from authrelay_client.wire import Schema, Timestamp

WIRE = Path(authrelay_client.wire.__file__).parent


@pytest.mark.parametrize("path", sorted(WIRE.glob("*.py")), ids=lambda p: p.name)
def test_wire_imports_only_typing(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            raise AssertionError(f"{path.name}:{node.lineno} has string annotations")
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            assert name in {"typing", "typing_extensions"} or name.startswith(
                "authrelay_client.wire"
            ), f"{path.name}:{node.lineno} imports {name}"


class InnerBody(TypedDict):
    n: int


class SampleBody(TypedDict):
    """A sample,
    over two lines."""

    kind: Literal["a", "b"]
    fixed: Literal["x"]
    when: NotRequired[Timestamp | None]
    name: str | None
    inner: InnerBody
    inners: list[InnerBody]
    tags: dict[str, str]
    loose: dict[str, object]
    score: float
    code: Annotated[str, Schema(pattern="^[a-z]+$", description="lower case")]


class ExtendedBody(SampleBody):
    extra: bool


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_a_typeddict_becomes_a_component_with_refs() -> None:
    components = Components()
    assert components.add(ExtendedBody) == ref("Extended")
    assert component_name(SampleBody) == "Sample"
    assert components.schemas["Extended"] == {
        "allOf": [
            ref("Sample"),
            {"type": "object", "properties": {"extra": {"type": "boolean"}}, "required": ["extra"]},
        ]
    }
    sample = components.schemas["Sample"]
    assert sample["description"] == "A sample, over two lines."
    assert sample["required"] == [
        "kind", "fixed", "name", "inner", "inners", "tags", "loose", "score", "code",
    ]  # fmt: skip
    assert sample["properties"] == {
        "kind": {"type": "string", "enum": ["a", "b"]},
        "fixed": {"type": "string", "const": "x"},
        "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "name": {"type": ["string", "null"]},
        "inner": ref("Inner"),
        "inners": {"type": "array", "items": ref("Inner")},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "loose": {"type": "object"},
        "score": {"type": "number"},
        "code": {"type": "string", "pattern": "^[a-z]+$", "description": "lower case"},
    }
    assert components.schemas["Inner"] == {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    }


def test_two_types_of_one_name_are_refused() -> None:
    components = Components()
    components.add(InnerBody)

    class Inner(TypedDict):
        m: str

    with pytest.raises(TypeError, match="two wire types are named 'Inner'"):
        components.add(Inner)
