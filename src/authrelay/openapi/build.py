"""Builds `/openapi.json`: FastAPI's document of paths and parameters, completed from the
table in `operations.py` (bodies, statuses, schemas, security) and the proxy's routes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from authrelay.openapi.operations import (
    FIELD_RULES,
    OPERATIONS,
    PROXY_ERRORS,
    PROXY_METHODS,
    Operation,
)
from authrelay.openapi.typed import JSON, component_schemas, ref
from authrelay_client.wire import DOCUMENTED

BEARER = "bearerAuth"
CLIENT_CREDENTIALS = "clientCredentials"
CLIENT_BASIC = "clientBasic"
SECURITY_SCHEMES: JSON = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /oauth/token (client credentials grant).",
    },
    CLIENT_CREDENTIALS: {
        "type": "oauth2",
        "description": "The same token, fetched by the client itself.",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
    },
    CLIENT_BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "POST /oauth/token only: client_id and client_secret (RFC 6749 §2.3.1).",
    },
}
TOKEN_SECURITY: list[JSON] = [{BEARER: []}, {CLIENT_CREDENTIALS: []}]


class SchemaConflict(RuntimeError):
    """Two models define a component of the same name differently."""


def _add_component(components: JSON, name: str, schema: JSON) -> None:
    if components.setdefault(name, schema) != schema:
        raise SchemaConflict(f"component schema {name!r} is defined twice, differently")


def _model_schema(model: type[BaseModel], components: JSON) -> JSON:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        _add_component(components, name, sub)
    _add_component(components, model.__name__, schema)
    return ref(model.__name__)


def _json(schema: JSON | None, media_type: str = "application/json") -> JSON:
    return {media_type: {"schema": schema if schema is not None else {}}}


def _error(status: int, schema: str) -> JSON:
    return {"description": HTTPStatus(status).phrase, "content": _json(ref(schema))}


def _request_body(op: Operation, components: JSON) -> JSON | None:
    if op.body is None:
        return None
    if isinstance(op.body, str):
        schema = ref(op.body)
    else:
        schema = _model_schema(op.body, components)
    if op.body_wrapper:
        # the body may also come wrapped in one key, e.g. {"provider": {...}}
        schema = {
            "anyOf": [
                schema,
                {
                    "type": "object",
                    "properties": {op.body_wrapper: schema},
                    "required": [op.body_wrapper],
                    "additionalProperties": False,
                },
            ]
        }
    content = _json(schema)
    if op.form_body:
        content = {"application/x-www-form-urlencoded": {"schema": schema}, **content}
    return {"required": True, "content": content}


def _responses(op: Operation) -> JSON:
    ok: JSON = {"description": HTTPStatus(op.ok).phrase}
    if op.media_type == "application/json":
        ok["content"] = _json(ref(op.response) if op.response else None)
    else:
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    responses: JSON = {str(op.ok): ok}
    for status, schema in op.extra_responses.items():
        responses[str(status)] = _error(status, schema)
    for status in op.errors:
        responses[str(status)] = _error(status, op.error_schema)
    return responses


def _plain_parameter(parameter: JSON) -> None:
    """`str | None` parameters: FastAPI writes anyOf [string, null], but a query or header
    value is never null (absent means None), so the document says just "string"."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept[0]}


def _apply(path: str, method: str, doc_op: JSON, op: Operation, components: JSON) -> None:
    doc_op["summary"] = op.summary
    for parameter in doc_op.get("parameters", []):
        _plain_parameter(parameter)
    doc_op["responses"] = _responses(op)
    body = _request_body(op, components)
    if body is not None:
        doc_op["requestBody"] = body
    if op.public:
        doc_op["security"] = [{}, {CLIENT_BASIC: []}] if path == "/oauth/token" else []
    else:
        doc_op["security"] = TOKEN_SECURITY


def _proxy_operation(method: str) -> JSON:
    op: JSON = {
        "tags": ["proxy"],
        "summary": f"Call the provider's API ({method.upper()}) with the account's credentials",
        "operationId": f"proxy_{method}",
        "description": "Forwards the request to the provider's proxy_url + /{path}, adding the "
        "connected account's credential. The listed error statuses are authrelay's own "
        "(google.rpc Status); any other response is the upstream's, relayed as it is.",
        "parameters": [
            {
                "name": "path",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The path under the provider's proxy_url.",
            },
            {
                "name": "connection_name",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "The connection's name (key_id).",
            },
            {
                "name": "identifier",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "The connected account's identifier.",
            },
        ],
        "responses": {
            **{str(s): _error(s, "Status") for s in PROXY_ERRORS},
            "default": {
                "description": "The upstream's response, relayed as it is.",
                "content": {"*/*": {"schema": {}}},
            },
        },
        "security": TOKEN_SECURITY,
    }
    if method in {"post", "put", "patch"}:
        op["requestBody"] = {
            "required": False,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    return op


def _apply_field_rules(components: JSON) -> None:
    for component, fields in FIELD_RULES.items():
        properties = components[component]["properties"]
        for name, rules in fields.items():
            schema = properties[name]
            strings = [o for o in schema.get("anyOf", [schema]) if o.get("type") == "string"]
            if len(strings) != 1:
                raise SchemaConflict(f"{component}.{name} has no single string schema")
            strings[0].update(rules)


class MissingOperation(RuntimeError):
    """A route has no row in `operations.OPERATIONS` (or a row has no route)."""


def build_document(app: FastAPI) -> JSON:
    doc: JSON = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components: JSON = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    for name, schema in component_schemas(DOCUMENTED).items():
        _add_component(components, name, schema)
    seen = set()
    for path, item in doc["paths"].items():
        for method, doc_op in item.items():
            op = OPERATIONS.get((method, path))
            if op is None:
                raise MissingOperation(f"{method.upper()} {path} has no row in OPERATIONS")
            seen.add((method, path))
            _apply(path, method, doc_op, op, components)
    missing = set(OPERATIONS) - seen
    if missing:
        raise MissingOperation(f"rows without a route: {sorted(missing)}")
    _apply_field_rules(components)
    doc["paths"]["/proxy/{path}"] = {m: _proxy_operation(m) for m in PROXY_METHODS}
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    doc["security"] = TOKEN_SECURITY
    return doc


def install(app: FastAPI) -> None:
    """Serve the completed document at `/openapi.json` (built on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
