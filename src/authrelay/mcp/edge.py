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
  `400` error instead of the SDK's long validation message."""

from __future__ import annotations

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
    """`error` as a JSON-RPC error response with no id (the request's is not known)."""
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": jsonrpc_code(error.http_status),
            "message": error.message,
            "data": error.body(),
        },
    }


def challenge(metadata_url: str, error: str = "") -> str:
    """The `WWW-Authenticate` value: RFC 6750's `error` when a token was sent and refused
    (`invalid_token`) or is not enough (`insufficient_scope`); none when there was no token."""
    error_part = f'error="{error}", ' if error else ""
    return f'Bearer {error_part}resource_metadata="{metadata_url}"'


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


async def refuse_batch(receive: Receive) -> Receive:
    """Raise `batch_refused()` when the body is a JSON array; else a `receive` that gives the
    SDK the body again. Reads only up to the first byte that is not white space."""
    seen: list[Message] = []
    while True:
        message = await receive()
        seen.append(message)
        if message["type"] != "http.request":
            break
        first = message.get("body", b"").lstrip(_WHITESPACE)[:1]
        if first == b"[":
            raise batch_refused()
        if first or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return seen.pop(0) if seen else await receive()

    return replay
