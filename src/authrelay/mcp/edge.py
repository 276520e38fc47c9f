"""What the MCP URLs answer before the SDK sees a request, and how their refusals look.

- **Refusals are JSON-RPC errors** (`{"jsonrpc", "id": null, "error": {code, message,
  data}}`), `data` being authrelay's error body (SPEC §2), so an MCP client shows the
  reason. Codes (`jsonrpc_code`): `400` → `-32600` (invalid request), another `4xx` →
  `-32000 - (status - 400)` (`401` → `-32001`, `403` → `-32003`, `404` → `-32004`, `405` →
  `-32005`, `413` → `-32013`), `5xx` → `-32603` (internal error).
- **Only POST** carries MCP messages: the server is stateless and offers no server-initiated
  stream, so `GET` (which would open a stream nothing ever writes to, holding a request
  slot) and `DELETE` are answered `405` with `Allow`, as the Streamable HTTP transport allows.
- **Origin** (DNS-rebinding protection): a request whose `Origin` is present and is neither
  the server's own (`AUTHRELAY_PUBLIC_URL`, or the listen address) nor listed in
  `AUTHRELAY_MCP_ALLOWED_ORIGINS` is refused `403`. Allowed origins get CORS headers, and
  their preflight `OPTIONS` is answered. The RFC 9728 metadata is public: any origin.
- **Batches** (a JSON array body; JSON-RPC batching left MCP in 2025-06-18) get a short
  `400` error instead of the SDK's long validation message.
- **Scope** (the MCP authorization spec's scope challenge): a READ_ONLY token's `tools/call`
  of a tool that is not read-only is answered `403` with `error="insufficient_scope"` and
  the scope that would do, before the SDK sees it (`read_request` reads the request's
  method and tool name)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.types import Message, Receive, Send

from authrelay.errors import AuthrelayError, InvalidArgument, PermissionDenied

if TYPE_CHECKING:
    from authrelay.config import Settings

ALLOW = "POST, OPTIONS"
PREFLIGHT_METHODS = "GET, POST, DELETE, OPTIONS"  # GET/DELETE allowed so a browser sees the 405
PREFLIGHT_HEADERS = (
    "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID"
)
EXPOSED_HEADERS = "Mcp-Session-Id, WWW-Authenticate"
_MAX_AGE = "86400"
_WHITESPACE = b" \t\r\n"
_QUOTED_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")  # RFC 6750 §3's error_description


@dataclass(frozen=True)
class RouteTemplate:
    """What `observability.AccessLogMiddleware` reads from `scope["route"]` (its `path`)."""

    path: str
    secret_path: bool = False  # the path is a credential: the access log shows `path` instead


SERVER_ROUTE = RouteTemplate("/mcp/v3/servers/{config_id}")
CONNECTION_ROUTE = RouteTemplate("/mcp/v3/connections/{connection_name}")
SERVER_METADATA_ROUTE = RouteTemplate(
    "/.well-known/oauth-protected-resource/mcp/v3/servers/{config_id}"
)
INSTANCE_ROUTE = RouteTemplate("/mcp/v3/instances/{key}", secret_path=True)
INSTANCE_METADATA_ROUTE = RouteTemplate(
    "/.well-known/oauth-protected-resource/mcp/v3/instances/{key}", secret_path=True
)
CONNECTION_METADATA_ROUTE = RouteTemplate(
    "/.well-known/oauth-protected-resource/mcp/v3/connections/{connection_name}"
)


class MethodNotAllowed(InvalidArgument):
    """An HTTP method the MCP URLs do not serve."""

    http_status = HTTPStatus.METHOD_NOT_ALLOWED


class OriginRefused(PermissionDenied):
    """A browser's request from an origin not allowed (DNS-rebinding protection)."""


class InsufficientScope(PermissionDenied):
    """A request the token's scope does not cover; answered with the request's id."""

    def __init__(self, message: str, request_id: str | int | None, challenge: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": challenge})
        self.request_id = request_id


def method_not_allowed(method: str) -> MethodNotAllowed:
    return MethodNotAllowed(
        f"{method} is not served on MCP URLs: send JSON-RPC messages with POST "
        "(this stateless server offers no server-initiated stream)",
        headers={"Allow": ALLOW},
    )


def batch_refused() -> InvalidArgument:
    return InvalidArgument("JSON-RPC batches are not supported: send one message per request")


def jsonrpc_code(http_status: int) -> int:
    """The JSON-RPC error code of an HTTP refusal (see the module's docstring)."""
    if http_status == HTTPStatus.BAD_REQUEST:
        return -32600
    if 400 <= http_status < 500:
        return -32000 - (http_status - 400)
    return -32603


def jsonrpc_error(error: AuthrelayError) -> dict[str, Any]:
    """`error` as a JSON-RPC error response, with no id unless the edge read the request's."""
    return {
        "jsonrpc": "2.0",
        "id": error.request_id if isinstance(error, InsufficientScope) else None,
        "error": {
            "code": jsonrpc_code(error.http_status),
            "message": error.message,
            "data": error.body(),
        },
    }


def challenge(metadata_url: str, error: str = "", scope: str = "", description: str = "") -> str:
    """The `WWW-Authenticate` value: RFC 6750's `error` when a token was sent and refused
    (`invalid_token`) or is not enough (`insufficient_scope`, with the `scope` that would do);
    none when there was no token."""
    parts = [f'error="{error}"'] if error else []
    if scope:
        parts.append(f'scope="{scope}"')
    parts.append(f'resource_metadata="{metadata_url}"')
    if description:
        parts.append(f'error_description="{_QUOTED_UNSAFE.sub("?", description)}"')
    return "Bearer " + ", ".join(parts)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class OriginPolicy:
    """The origins allowed to call the MCP URLs from a browser: the server's own and
    `AUTHRELAY_MCP_ALLOWED_ORIGINS` (comma-separated)."""

    def __init__(self, settings: Settings) -> None:
        listed = (o.strip().rstrip("/").lower() for o in settings.mcp_allowed_origins.split(","))
        self.allowed = frozenset({_origin_of(settings.base_url), *(o for o in listed if o)})

    def allows(self, origin: str) -> bool:
        return origin.lower() in self.allowed


def header(scope_headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in scope_headers:
        if key == name:
            return value.decode("latin-1")
    return ""


def with_cors(send: Send, allow_origin: str) -> Send:
    """`send` adding the CORS headers of an answer to `allow_origin`."""
    added = [
        (b"access-control-allow-origin", allow_origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]

    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *added]}
        await send(message)

    return cors_send


async def answer_preflight(send: Send, cross_origin: bool) -> None:
    """`204` to a CORS preflight (`cross_origin`; `send` is `with_cors`'s) or a plain
    `OPTIONS`."""
    headers = [(b"allow", ALLOW.encode()), (b"content-length", b"0")]
    if cross_origin:
        headers += [
            (b"access-control-allow-methods", PREFLIGHT_METHODS.encode()),
            (b"access-control-allow-headers", PREFLIGHT_HEADERS.encode()),
            (b"access-control-max-age", _MAX_AGE.encode()),
        ]
    await send({"type": "http.response.start", "status": HTTPStatus.NO_CONTENT, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


@dataclass(frozen=True)
class Call:
    """What the edge reads of a JSON-RPC request: its id, method and `params.name`."""

    id: str | int | None
    method: str
    name: str


def _call(body: bytes) -> Call | None:
    """The request in `body`, or None for anything else (the SDK answers it)."""
    try:
        message = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8)
        return None
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None
    request_id = message.get("id")
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return Call(
        request_id if isinstance(request_id, (str, int)) else None,
        message["method"],
        name if isinstance(name, str) else "",
    )


async def read_request(receive: Receive, *, parse: bool, limit: int) -> tuple[Receive, Call | None]:
    """Raise `batch_refused()` when the body is a JSON array; else a `receive` that gives the
    SDK the body again, and with `parse` the request read from it (None when it is not one,
    or is larger than `limit`: the SDK answers those). Without `parse`, reads only up to the
    first byte that is not white space."""
    seen: list[Message] = []
    chunks: list[bytes] = []
    size, checked, whole = 0, False, False
    while True:
        message = await receive()
        seen.append(message)
        if message["type"] != "http.request":
            break
        body: bytes = message.get("body", b"")
        if not checked:
            first = body.lstrip(_WHITESPACE)[:1]
            if first == b"[":
                raise batch_refused()
            checked = bool(first)
        more = bool(message.get("more_body", False))
        if parse:
            chunks.append(body)
            size += len(body)
        if not more:
            whole = parse and size <= limit
            break
        if (checked and not parse) or size > limit:
            break

    async def replay() -> Message:
        return seen.pop(0) if seen else await receive()

    return replay, _call(b"".join(chunks)) if whole else None
