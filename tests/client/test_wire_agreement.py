"""The SDK's models and the wire types (`authrelay_client.wire`, what the server sends and the
OpenAPI document describes) agree: every model reads only fields the server sends, every
field the server sends is modelled (or listed below as deliberately not), a field the
server always sends is never one the model requires without it being required, and each
field's JSON types fit the model's."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from authrelay.openapi.typed import Components
from authrelay_client import models, wire

#: SDK model → the wire type it reads
PAIRS: list[tuple[type[BaseModel], type]] = [
    (models.Provider, wire.ProviderBody),
    (models.ListProvidersResponse, wire.ListProvidersResponse),
    (models.ConnectionOAuthConfig, wire.ConnectionOAuthConfigBody),
    (models.Connection, wire.ConnectionBody),
    (models.ListConnectionsResponse, wire.ListConnectionsResponse),
    (models.ToggleConnectionResponse, wire.ToggleConnectionResponse),
    (models.ConnectedAccount, wire.ConnectedAccountBody),
    (models.ListConnectedAccountsResponse, wire.ListConnectedAccountsResponse),
    (models.AuthorizationLink, wire.MagicLinkResponse),
    (models.Tool, wire.ToolBody),
    (models.ScopedTool, wire.ScopedToolBody),
    (models.ToolSearchResult, wire.ToolSearchResultBody),
    (models.ToolSyncResult, wire.SyncToolsResponse),
    (models.ExecuteToolResponse, wire.ExecuteToolResponse),
    (models.McpConnectionMapping, wire.McpConnectionMappingBody),
    (models.McpConfig, wire.McpConfigBody),
    (models.McpConnectionAuthState, wire.McpConnectionAuthStateBody),
    (models.McpSessionToken, wire.McpTokenResponse),
]
#: fields the server sends that a model leaves to `extra="allow"` (reachable as attributes)
NOT_MODELLED: dict[type[BaseModel], set[str]] = {
    models.ConnectionOAuthConfig: {"use_platform_creds"},
    models.ConnectedAccount: {"organization_id", "user_id"},
    models.Connection: {"created_at"},  # in lists only: ListConnection's name for create_time
}

Shape = frozenset[Any]
ANY: Shape = frozenset({"any"})


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _shape(schema: dict[str, Any], defs: dict[str, Any]) -> Shape:
    """The JSON types a schema allows, arrays with their items' types."""
    schema = _resolve(schema, defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return frozenset().union(*(_shape(s, defs) for s in schema[key]))
    if "allOf" in schema:
        return frozenset({"object"})
    values = schema.get("enum", [schema["const"]] if "const" in schema else None)
    kinds = schema.get("type")
    if kinds is None and values is not None:
        kinds = sorted({{str: "string", int: "integer", bool: "boolean"}[type(v)] for v in values})
    if kinds is None:
        return ANY
    out: set[Any] = set()
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        if kind == "array":
            out.add(("array", _shape(schema.get("items", {}), defs)))
        else:
            out.add(kind)
    return frozenset(out)


def _fits(sent: Shape, read: Shape) -> bool:
    """Whatever the server may send under `sent`, a model field of `read` accepts."""
    if read == ANY or "any" in read:
        return True
    for kind in sent:
        if kind == "any":
            return False
        if isinstance(kind, tuple):
            arrays = [k for k in read if isinstance(k, tuple)]
            if not any(_fits(kind[1], k[1]) for k in arrays):
                return False
        elif kind not in read and not (kind == "integer" and "number" in read):
            return False
    return True


def _wire_fields(typed: type) -> tuple[dict[str, Shape], set[str]]:
    components = Components()
    ref = components.add(typed)
    schema = components.schemas[ref["$ref"].rsplit("/", 1)[-1]]
    parts = schema.get("allOf", [schema])
    props: dict[str, Any] = {}
    required: set[str] = set()
    for part in parts:
        part = _resolve(part, components.schemas)
        props.update(part.get("properties", {}))
        required |= set(part.get("required", []))
    return {k: _shape(v, components.schemas) for k, v in props.items()}, required


def _model_fields(model: type[BaseModel]) -> tuple[dict[str, Shape], set[str]]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    props = schema.get("properties", {})
    return {k: _shape(v, defs) for k, v in props.items()}, set(schema.get("required", []))


@pytest.mark.parametrize(("model", "typed"), PAIRS, ids=[m.__name__ for m, _ in PAIRS])
def test_model_agrees_with_wire_type(model: type[BaseModel], typed: type) -> None:
    sent, always = _wire_fields(typed)
    read, needed = _model_fields(model)
    assert set(read) - set(sent) == set(), "the model reads fields the server never sends"
    unmodelled = set(sent) - set(read)
    assert unmodelled == NOT_MODELLED.get(model, set()), "fields the server sends, unmodelled"
    assert needed <= always, "the model requires fields the server may leave out"
    wrong = {k: (sent[k], read[k]) for k in read if not _fits(sent[k], read[k])}
    assert wrong == {}, "fields whose JSON types the model does not accept"


def test_every_sdk_model_is_paired() -> None:
    paired = {m for m, _ in PAIRS}
    sdk = {
        m
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, models.ApiModel) and m is not models.ApiModel
    }
    assert sdk - paired == set()


def test_a_drift_is_found() -> None:
    """The check is not vacuous: a model that reads a number where a string comes, or a
    field the server does not send, fails it."""

    class Drifted(models.ApiModel):
        id: int = 0
        invented: str = ""

    sent, _ = _wire_fields(wire.ToolBody)
    read, _ = _model_fields(Drifted)
    assert set(read) - set(sent) == {"invented"}
    assert not _fits(sent["id"], read["id"])
