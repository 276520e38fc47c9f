"""Tools from an OpenAPI document (2.0, 3.0, 3.1): one tool per operation.

Rules (docs/tools.md): names `{provider}_{operation}` (naming.py); path, query, header and
body parameters flattened into one input object — on a name clash the path parameter keeps
the name and the others get their location as a prefix (`query_id`, `body_id`); a body that
is not an object with properties becomes one input `body` sent as the whole body; local
`$ref`s inlined with a cut-off (schemas.py); parameters the provider's credential pattern
injects, `Authorization` and cookies dropped; annotations from the method; every tool checked
by the same validator the server uses, an operation that still fails is skipped with its
reason (never a crash, never an invalid tool).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from authrelay.errors import InvalidArgument
from authrelay.providers.infer.parse import load_structured, to_text
from authrelay.tools import DEFAULT_MAX_TOOLS
from authrelay.tools.model import schema_valid, validate_tool
from authrelay.tools.naming import operation_part, tool_name
from authrelay.tools.schemas import Inliner, trim
from authrelay_client.wire import JSONObject

METHODS = ("get", "put", "post", "delete", "patch", "head")
MAX_DOCUMENT_BYTES = 50_000_000
_LOCATIONS = ("path", "query", "header", "body")
_INPUT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_JSON = re.compile(r"^application/([a-z0-9.+-]*\+)?json", re.IGNORECASE)
_FORM = "application/x-www-form-urlencoded"


class ToolAnnotations(TypedDict):
    read_only_hint: bool
    destructive_hint: bool
    idempotent_hint: bool
    open_world_hint: bool
    title: NotRequired[str]


class GeneratedDefinition(TypedDict):
    name: str
    description: str
    input_schema: JSONObject
    annotations: ToolAnnotations


#: where one input goes: `in` path/query/header/body/body_root, under `name` when renamed
ParamBinding = TypedDict("ParamBinding", {"in": str, "name": NotRequired[str]})


class GeneratedBinding(TypedDict):
    method: str
    path: str
    params: dict[str, ParamBinding]
    content_type: str


class OperationMetadata(TypedDict):
    operation_id: str
    method: str
    path: str


class GeneratedTool(TypedDict):
    """A `POST /api/v1/tools` body made from one operation."""

    provider: str
    definition: GeneratedDefinition
    binding: GeneratedBinding
    metadata: OperationMetadata
    tags: list[str]


class GenerationError(ValueError):
    """The document cannot be turned into tools (not OpenAPI, or over the cap)."""


@dataclass
class Generated:
    tools: list[GeneratedTool] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "METHOD /path: reason"
    operations: int = 0
    version: str = ""


def load_document(data: str | bytes) -> Any:
    """Parse an OpenAPI document. JSON may be up to MAX_DOCUMENT_BYTES (large real APIs
    are bigger than the inference engine's cap); YAML goes through the engine's guarded
    reader (size and alias-expansion caps)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise GenerationError(
            f"the OpenAPI document is {len(data)} bytes, over the {MAX_DOCUMENT_BYTES} limit"
        )
    problems: list[str] = []
    doc: Any = None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        text = to_text(data, "OpenAPI document", problems, cut=False)
        doc = load_structured(text, "OpenAPI document", problems) if text is not None else None
    versioned = isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)
    if not isinstance(doc, dict) or not (versioned or isinstance(doc.get("paths"), dict)):
        reason = "; ".join(problems) or "it has no 'openapi' or 'swagger' version and no paths"
        raise GenerationError(f"not an OpenAPI document: {reason}")
    return doc


def _dict(value: Any) -> JSONObject:
    return {k: v for k, v in value.items() if isinstance(k, str)} if isinstance(value, dict) else {}


def _base_path(doc: JSONObject, v2: bool) -> str:
    if v2:
        base = doc.get("basePath")
        return base.rstrip("/") if isinstance(base, str) else ""
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        url = servers[0].get("url")
        if isinstance(url, str):
            path = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*", "", url)
            if "{" not in path:
                return path.rstrip("/")
    return ""


def _included(op: JSONObject, include: list[str]) -> bool:
    if not include:
        return True
    tags = (
        {t.lower() for t in op.get("tags", []) if isinstance(t, str)}
        if isinstance(op.get("tags"), list)
        else set()
    )
    op_id = op.get("operationId")
    for rule in include:
        kind, _, value = rule.partition(":")
        if kind == "tag" and value.lower() in tags:
            return True
        if kind == "op" and isinstance(op_id, str) and op_id.lower() == value.lower():
            return True
    return False


def parse_include(rules: list[str]) -> list[str]:
    bad = [r for r in rules if r.partition(":")[0] not in ("tag", "op") or not r.partition(":")[2]]
    if bad:
        raise GenerationError(f"--include takes tag:TAG or op:OPERATION_ID, not {bad[0]!r}")
    return rules


@dataclass
class _Input:
    location: str
    wire: str
    schema: JSONObject
    required: bool


class _Operation:
    def __init__(
        self,
        inliner: Inliner,
        v2: bool,
        credentials: set[tuple[str, str]],
    ) -> None:
        self.inliner = inliner
        self.v2 = v2
        self.credentials = credentials
        self.inputs: list[_Input] = []
        self.content_type = "application/json"

    def parameter(self, raw: Any) -> None:
        param, stack = self.inliner.deref(raw)
        param = _dict(param)
        where, name = param.get("in"), param.get("name")
        if not isinstance(name, str) or not name or where not in ("path", "query", "header"):
            if where == "body" and self.v2:
                self.body(param.get("schema"), bool(param.get("required")), stack)
            elif where == "formData" and isinstance(name, str):
                self.content_type = _FORM
                self.add(
                    "body", name, self.inliner.schema(param, stack), bool(param.get("required"))
                )
            return
        if (where, name.lower()) in self.credentials or (
            where == "header" and name.lower() in ("authorization", "cookie", "content-type")
        ):
            return
        source = param if self.v2 else param.get("schema", {})
        schema = self.inliner.schema(source, stack)
        described = trim(param.get("description"), 300)
        if described and "description" not in schema:
            schema["description"] = described
        self.add(where, name, schema, where == "path" or bool(param.get("required")))

    def body(self, raw: Any, required: bool, stack: tuple[str, ...] = ()) -> None:
        schema = self.inliner.schema(raw, stack)
        props = schema.get("properties")
        if schema.get("type") in (None, "object") and isinstance(props, dict) and props:
            needed = (
                set(schema.get("required", []))
                if isinstance(schema.get("required"), list)
                else set()
            )
            for name, prop in props.items():
                if isinstance(prop, dict) and prop.get("readOnly") is True:
                    continue
                self.add(
                    "body",
                    name,
                    prop if isinstance(prop, dict) else {},
                    required and name in needed,
                )
        else:
            self.add("body_root", "body", schema, required)

    def request_body(self, raw: Any) -> str | None:
        """Reads a 3.x requestBody; a reason when the operation cannot be called."""
        body, stack = self.inliner.deref(raw)
        body = _dict(body)
        content = _dict(body.get("content"))
        required = bool(body.get("required"))
        for media, spec in content.items():
            if _JSON.match(media):
                self.body(_dict(spec).get("schema"), required, stack)
                return None
        if _FORM in content:
            self.content_type = _FORM
            self.body(_dict(content[_FORM]).get("schema"), required, stack)
            return None
        if content and required:
            return f"its request body is {', '.join(list(content)[:3])}, not JSON or a form"
        return None

    def add(self, location: str, wire: str, schema: JSONObject, required: bool) -> None:
        self.inputs.append(_Input(location, wire, schema, required))


def _input_names(inputs: list[_Input]) -> list[str]:
    """One unique input name per input: path first, then query, header, body."""
    order = {"path": 0, "query": 1, "header": 2, "body": 3, "body_root": 3}
    names: dict[int, str] = {}
    taken: set[str] = set()
    for i in sorted(range(len(inputs)), key=lambda i: order[inputs[i].location]):
        item = inputs[i]
        base = _INPUT_NAME.sub("_", item.wire).strip("_")[:60] or "value"
        name = base
        if name in taken:
            name = f"{item.location.split('_')[0]}_{base}"[:64]
        n = 2
        while name in taken:
            name = f"{base[:58]}_{n}"
            n += 1
        taken.add(name)
        names[i] = name
    return [names[i] for i in range(len(inputs))]


def _valid(schema: JSONObject) -> bool:
    try:
        return schema_valid(schema)
    except RecursionError:
        return False


def _fallback(schema: JSONObject) -> JSONObject:
    """A property schema that is not valid JSON Schema becomes "anything", described."""
    return schema if _valid(schema) else {k: schema[k] for k in ("description",) if k in schema}


def _annotations(method: str, summary: str) -> ToolAnnotations:
    read_only = method in ("GET", "HEAD")
    out: ToolAnnotations = {
        "read_only_hint": read_only,
        "destructive_hint": method == "DELETE",
        "idempotent_hint": method in ("GET", "HEAD", "PUT", "DELETE"),
        "open_world_hint": True,
    }
    if summary:
        out["title"] = trim(summary, 200)
    return out


def _tool_path(base: str, path: str, proxy_path: str) -> str:
    full = f"{base}{path}" if path.startswith("/") else f"{base}/{path}"
    prefix = proxy_path.rstrip("/")
    if prefix and (full == prefix or full.startswith(prefix + "/")):
        full = full[len(prefix) :] or "/"
    return full if full.startswith("/") else "/" + full


def generate_tools(
    doc: Any,
    provider: str,
    *,
    proxy_url: str = "",
    credentials: set[tuple[str, str]] | None = None,
    include: list[str] | None = None,
    max_tools: int = DEFAULT_MAX_TOOLS,
) -> Generated:
    """Tools (as `POST /api/v1/tools` bodies) for every included operation of `doc`.
    `credentials`: (location, lower-case name) of parameters the provider injects."""
    if not isinstance(doc, dict):
        raise GenerationError("not an OpenAPI document: it is not an object")
    rules = parse_include(include or [])
    v2 = str(doc.get("swagger", "")).startswith("2")
    out = Generated(version=str(doc.get("swagger") or doc.get("openapi") or "?"))
    base = _base_path(doc, v2)
    proxy_path = urlsplit(proxy_url.replace("{{", "").replace("}}", "")).path if proxy_url else ""
    taken: set[str] = set()
    selected: list[tuple[str, str, JSONObject, list[Any]]] = []
    for path, item in _dict(doc.get("paths")).items():
        item = _dict(item)
        raw_shared = item.get("parameters")
        shared: list[Any] = raw_shared if isinstance(raw_shared, list) else []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            out.operations += 1
            if _included(op, rules):
                selected.append((path, method, op, shared))
    if len(selected) > max_tools:
        raise GenerationError(
            f"the document has {len(selected)} operations to import, over the cap of "
            f"{max_tools} tools per import: choose some with --include tag:TAG or "
            "--include op:OPERATION_ID, or raise --max-tools"
        )
    for path, method, op, shared in selected:
        where = f"{method.upper()} {path}"
        try:
            tool, reason = _one(doc, v2, provider, base, proxy_path, path, method, op, shared,
                                credentials or set(), taken)  # fmt: skip
        except RecursionError:
            tool, reason = None, "its schemas are nested too deeply"
        if tool is None:
            out.skipped.append(f"{where}: {reason}")
        else:
            out.tools.append(tool)
    return out


def _one(
    doc: JSONObject,
    v2: bool,
    provider: str,
    base: str,
    proxy_path: str,
    path: str,
    method: str,
    op: JSONObject,
    shared: list[Any],
    credentials: set[tuple[str, str]],
    taken: set[str],
) -> tuple[GeneratedTool | None, str]:
    inliner = Inliner(doc)
    operation = _Operation(inliner, v2, credentials)
    raw_own = op.get("parameters")
    own: list[Any] = raw_own if isinstance(raw_own, list) else []
    merged: dict[tuple[Any, Any], Any] = {}
    for raw in [*shared, *own]:
        param, _ = inliner.deref(raw)
        param = _dict(param)
        merged[(param.get("in"), param.get("name"))] = raw
    for raw in merged.values():
        operation.parameter(raw)
    if not v2 and "requestBody" in op:
        reason = operation.request_body(op["requestBody"])
        if reason:
            return None, reason
    # Some documents key one path twice with a fragment (`/cookies#style`): not sent.
    tool_path = _tool_path(base, path.split("#", 1)[0], proxy_path)
    declared = {i.wire for i in operation.inputs if i.location == "path"}
    for placeholder in re.findall(r"\{([^{}]*)\}", tool_path):
        if placeholder not in declared:
            operation.add("path", placeholder, {"type": "string"}, True)
    names = _input_names(operation.inputs)
    properties: JSONObject = {}
    required: list[str] = []
    params: dict[str, ParamBinding] = {}
    for name, item in zip(names, operation.inputs, strict=True):
        properties[name] = item.schema
        if item.required:
            required.append(name)
        binding: ParamBinding = {"in": item.location}
        if item.wire != name and item.location != "body_root":
            binding["name"] = item.wire
        params[name] = binding
    schema: JSONObject = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    summary = trim(op.get("summary"), 200)
    description = trim(op.get("description"), 1000) or summary or f"{method.upper()} {path}"
    if summary and description != summary:
        description = trim(f"{summary}. {description}", 1000)
    raw_id = op.get("operationId")
    op_id: str = raw_id if isinstance(raw_id, str) else ""
    tags = (
        [trim(t, 100) for t in op.get("tags", []) if isinstance(t, str) and t.strip()][:50]
        if isinstance(op.get("tags"), list)
        else []
    )
    name = tool_name(provider, operation_part(op_id, method, path), taken)
    tool: GeneratedTool = {
        "provider": provider,
        "definition": {
            "name": name,
            "description": description,
            "input_schema": schema,
            "annotations": _annotations(method.upper(), summary),
        },
        "binding": {
            "method": method.upper(),
            "path": tool_path,
            "params": params,
            "content_type": operation.content_type,
        },
        "metadata": {"operation_id": op_id, "method": method.upper(), "path": path},
        "tags": tags,
    }
    try:
        validate_tool(tool)
    except InvalidArgument:
        # A schema the translation left invalid: those inputs accept anything, described.
        schema["properties"] = {k: _fallback(v) for k, v in properties.items()}
        try:
            validate_tool(tool)
        except InvalidArgument as exc:
            taken.discard(name)
            first = exc.violations[0] if exc.violations else None
            return None, f"{first.field}: {first.description}" if first else exc.message
    return tool, ""
