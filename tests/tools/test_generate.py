"""Generating tools from OpenAPI: the rules on small documents, then a corpus of real ones
(no crash, every name valid and unique, every schema valid JSON Schema)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from authrelay.errors import InvalidArgument
from authrelay.tools.generate import GenerationError, generate_tools, load_document
from authrelay.tools.model import validate_tool
from tests.tools.corpus import documents

NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def _doc(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths, **extra}


def _check(tools: list[dict[str, Any]]) -> None:
    names = [t["definition"]["name"] for t in tools]
    assert len(set(names)) == len(names)
    for tool in tools:
        assert NAME.match(tool["definition"]["name"]), tool["definition"]["name"]
        Draft202012Validator.check_schema(tool["definition"]["input_schema"])
        validate_tool(tool)


def test_names_for_odd_and_missing_operation_ids() -> None:
    long_id = "get" + "VeryLongOperationName" * 6
    doc = _doc(
        {
            "/users/{id}": {
                "get": {"operationId": "getUserByID"},
                "delete": {},  # no operationId
                "put": {"operationId": "ünïcode ops/with.dots!"},
                "patch": {"operationId": long_id},
                "post": {"operationId": long_id + "X"},
            },
            "/users/{id}/again": {"get": {"operationId": "getUserByID"}},
        }
    )
    tools = generate_tools(doc, "my_api").tools
    _check(tools)
    by = {(t["metadata"]["path"], t["binding"]["method"]): t["definition"]["name"] for t in tools}
    assert by["/users/{id}", "GET"] == "my_api_get_user_by_id"
    assert by["/users/{id}", "DELETE"] == "my_api_delete_users_by_id"
    assert by["/users/{id}", "PUT"] == "my_api_n_code_ops_with_dots"
    long_a, long_b = by["/users/{id}", "PATCH"], by["/users/{id}", "POST"]
    assert len(long_a) <= 64 and len(long_b) <= 64 and long_a != long_b
    again = by["/users/{id}/again", "GET"]
    assert again.startswith("my_api_get_user_by_id_") and len(again) <= 64
    annotations = {t["binding"]["method"]: t["definition"]["annotations"] for t in tools[:5]}
    assert annotations["GET"]["read_only_hint"] and not annotations["GET"]["destructive_hint"]
    assert annotations["DELETE"]["destructive_hint"] and annotations["DELETE"]["idempotent_hint"]
    assert annotations["PUT"]["idempotent_hint"] and not annotations["PUT"]["read_only_hint"]
    assert not annotations["POST"]["idempotent_hint"]


def test_flattening_refs_recursion_and_credentials() -> None:
    doc = _doc(
        {
            "/items/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {
                    "operationId": "updateItem",
                    "summary": "  Update   an item ",
                    "parameters": [
                        {"name": "id", "in": "query", "schema": {"type": "integer"}},
                        {"name": "X-Api-Key", "in": "header", "schema": {"type": "string"}},
                        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                        {
                            "name": "nullable",
                            "in": "query",
                            "schema": {"type": "string", "nullable": True},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}
                        },
                    },
                },
            }
        },
        servers=[{"url": "https://api.example.com/v1"}],
        components={
            "parameters": {
                "Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            },
            "schemas": {
                "Node": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        },
                        "created": {"type": "string", "readOnly": True},
                    },
                }
            },
        },
    )
    (tool,) = generate_tools(
        doc, "demo", proxy_url="https://api.example.com", credentials={("header", "x-api-key")}
    ).tools
    _check([tool])
    schema = tool["definition"]["input_schema"]
    params = tool["binding"]["params"]
    assert tool["binding"]["path"] == "/v1/items/{id}"  # proxy_url has no /v1
    assert set(schema["properties"]) == {
        "id",
        "query_id",
        "body_id",
        "name",
        "children",
        "nullable",
    }
    assert params["id"] == {"in": "path"}
    assert params["query_id"] == {"in": "query", "name": "id"}
    assert params["body_id"] == {"in": "body", "name": "id"}
    assert set(schema["required"]) == {"id", "name"}
    assert schema["properties"]["nullable"]["type"] == ["string", "null"]
    recursive = schema["properties"]["children"]["items"]
    assert "recursive" in recursive["description"]
    assert tool["definition"]["description"] == "Update an item"
    # with the proxy_url's own /v1, the path is relative to it
    (again,) = generate_tools(doc, "demo", proxy_url="https://api.example.com/v1").tools
    assert again["binding"]["path"] == "/items/{id}"


def test_non_object_bodies_forms_and_swagger() -> None:
    doc = {
        "swagger": "2.0",
        "basePath": "/api",
        "paths": {
            "/bulk": {
                "post": {
                    "operationId": "bulk",
                    "parameters": [
                        {
                            "in": "body",
                            "name": "items",
                            "schema": {"type": "array", "items": {"type": "integer"}},
                        }
                    ],
                }
            },
            "/form": {
                "post": {
                    "operationId": "form",
                    "parameters": [
                        {"in": "formData", "name": "file", "type": "file", "required": True}
                    ],
                }
            },
        },
    }
    bulk, form = generate_tools(doc, "s").tools
    _check([bulk, form])
    assert bulk["binding"]["params"] == {"body": {"in": "body_root"}}
    assert bulk["binding"]["path"] == "/api/bulk"
    assert form["binding"]["content_type"] == "application/x-www-form-urlencoded"


def test_include_cap_and_bad_documents() -> None:
    paths = {
        f"/r{i}": {"get": {"operationId": f"op{i}", "tags": ["even" if i % 2 else "odd"]}}
        for i in range(10)
    }
    doc = _doc(paths)
    assert len(generate_tools(doc, "p", include=["tag:EVEN"]).tools) == 5
    assert [
        t["definition"]["name"] for t in generate_tools(doc, "p", include=["op:OP3"]).tools
    ] == ["p_op3"]
    with pytest.raises(GenerationError, match="over the cap of 4"):
        generate_tools(doc, "p", max_tools=4)
    with pytest.raises(GenerationError, match="tag:TAG"):
        generate_tools(doc, "p", include=["name:x"])
    for text in (b"", b"[1, 2]", b"{not: [valid", b'{"info": {}}'):
        with pytest.raises(GenerationError):
            load_document(text)
    with pytest.raises(InvalidArgument):
        validate_tool({"definition": {}})


def test_corpus_of_real_documents() -> None:
    docs = documents()
    assert len(docs) >= 30
    counts: dict[str, int] = {}
    for path in docs:
        doc = load_document(path.read_bytes())
        result = generate_tools(doc, "corpus", proxy_url="https://api.example.com", max_tools=5000)
        _check(result.tools)
        assert len(result.tools) + len(result.skipped) == result.operations
        counts[path.name] = len(result.tools)
    assert counts["api.github.com.json"] > 1000
    assert counts["star-trek.json"] == 120
