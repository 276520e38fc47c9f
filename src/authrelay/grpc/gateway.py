"""`GrpcGateway`: the ASGI app that answers gRPC calls (`content-type: application/grpc*`
over HTTP/2; `app.Dispatcher` sends them here). Each unary call is mapped onto the REST
operation its `google.api.http` rule names (`mapping.py`) and that operation is called
in-process on the REST side of the Dispatcher, with an HTTP/1.1 scope: the same routes,
middleware, token check, validation and errors as a REST client gets. The JSON answer is read
back into the response message, an error into gRPC's status trailers (`status.py`).

An answer is `http.response.start` (200, trailers announced), the framed message when the
call succeeded, then `http.response.trailers` with `grpc-status`. Nothing here answers a
500 or shows a stack: an unexpected exception is logged and answered INTERNAL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from authrelay.grpc.adapters import ADAPTERS
from authrelay.grpc.descriptors import Binding, Catalog, GrpcMethod, shipped
from authrelay.grpc.framing import PREFIX, frame, timeout_seconds, unframe
from authrelay.grpc.mapping import (
    RestRequest,
    as_json,
    from_json,
    rest_request,
    sample_path,
    variables,
)
from authrelay.grpc.status import UPSTREAM_RESPONSE, GrpcError, trailers
from authrelay.tools.asgi import GRPC_EXTENSION
from authrelay_client.codes import Code

log = logging.getLogger("authrelay.grpc")

_EMPTY = "google.protobuf.Empty"
_CODES = {int(code): code for code in Code}
_INTERNAL = GrpcError(Code.INTERNAL, "internal error; see the server log")
_FORWARDED = (b"user-agent",)
_JSON_GROWTH = 8  # a response's JSON may be this many times its message's size, and more
_CONTENT_TYPES = (b"application/grpc", b"application/grpc+proto")


@dataclass
class _Call:
    """What the gateway reads of a gRPC request's headers."""

    content_type: bytes = b""
    authorizations: list[bytes] = field(default_factory=list)
    host: bytes = b""
    encoding: str = ""
    timeout: bytes | None = None
    forwarded: list[tuple[bytes, bytes]] = field(default_factory=list)


def _read_headers(headers: Iterable[tuple[bytes, bytes]]) -> _Call:
    call = _Call()
    for name, value in headers:
        if name == b"content-type":
            call.content_type = value
        elif name == b"authorization":
            if value not in call.authorizations:  # Scalekit's Python SDK sends it twice
                call.authorizations.append(value)
        elif name == b"host":
            call.host = value
        elif name == b"grpc-encoding":
            call.encoding = value.decode("latin-1")
        elif name == b"grpc-timeout":
            call.timeout = value
        elif name in _FORWARDED:
            call.forwarded.append((name, value))
    return call


@dataclass
class _Answer:
    """The REST side's answer, collected."""

    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    too_large: bool = False


class GrpcGateway:
    """The gRPC edge. `rest` (the Dispatcher, called with HTTP/1.1 scopes) and `routes`
    (the API's routes, for telling a method authrelay does not serve from a resource it
    does not have) are set by `create_app` after construction."""

    def __init__(self, max_message_bytes: int, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or shipped()
        self.max_message_bytes = max_message_bytes
        self.rest: ASGIApp | None = None
        self.routes: list[BaseRoute] = []
        self._served: dict[str, tuple[Binding, ...]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = _read_headers(scope["headers"])
        proto = call.content_type.startswith(_CONTENT_TYPES[1])
        content_type = _CONTENT_TYPES[1] if proto else _CONTENT_TYPES[0]
        error: GrpcError | None
        try:
            message = await self._within_deadline(call, scope, receive)
            error = None
        except GrpcError as exc:
            message, error = None, exc
        except _ClientGone:
            return
        except Exception as exc:  # a bug: logged with its stack, answered without it
            log.error(
                "grpc gateway failure",
                exc_info=(type(exc), exc, exc.__traceback__),
                extra={"grpc_method": scope.get("path", "")},
            )
            message, error = None, _INTERNAL
        try:
            tail = trailers(self.catalog, error)
        except Exception as exc:  # details that would not encode: still a status, logged
            log.error("grpc status failure", exc_info=(type(exc), exc, exc.__traceback__))
            message, tail = None, trailers(self.catalog, _INTERNAL)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type),
                    (b"grpc-accept-encoding", b"identity"),
                ],
                "trailers": True,
            }
        )
        if message is not None:
            await send({"type": "http.response.body", "body": message, "more_body": True})
        await send(
            {
                "type": "http.response.trailers",
                "headers": tail,
                "more_trailers": False,
            }
        )

    async def _within_deadline(self, call: _Call, scope: Scope, receive: Receive) -> bytes:
        if call.timeout is None:
            return await self._handle(call, scope, receive)
        seconds = timeout_seconds(call.timeout)
        try:
            async with asyncio.timeout(seconds):
                return await self._handle(call, scope, receive)
        except TimeoutError:
            raise GrpcError(
                Code.DEADLINE_EXCEEDED, "the call's deadline (grpc-timeout) passed"
            ) from None

    async def _handle(self, call: _Call, scope: Scope, receive: Receive) -> bytes:
        if scope["method"] != "POST":
            raise GrpcError(Code.UNIMPLEMENTED, f"gRPC calls are POSTs, not {scope['method']}")
        if call.content_type.split(b";")[0].strip() not in _CONTENT_TYPES:
            raise GrpcError(
                Code.UNIMPLEMENTED,
                f"content-type {call.content_type.decode('latin-1')!r} is not served;"
                " use application/grpc (protobuf)",
            )
        method = self._method(scope["path"])
        if method is None:
            raise GrpcError(Code.UNIMPLEMENTED, f"unknown method {scope['path'][1:]}")
        served = self._bindings(method)
        if not served:
            raise GrpcError(Code.UNIMPLEMENTED, f"method {method.name} is not implemented")
        body = await self._read_body(receive)
        request = method.input()
        try:
            request.ParseFromString(unframe(body, call.encoding))
        except DecodeError:
            raise GrpcError(
                Code.INVALID_ARGUMENT, f"the request is not a valid {request.DESCRIPTOR.full_name}"
            ) from None
        fields = as_json(request)
        adapter = ADAPTERS.get(method.path)
        if adapter is not None and adapter.request is not None:
            fields = adapter.request(fields)
        rest = rest_request(_choose(served, fields), fields)
        answer = await self._call_rest(call, scope, rest, receive)
        return self._response(method, answer)

    def _method(self, path: str) -> GrpcMethod | None:
        """The method a call's path names: `/package.Service/Method`, possibly after a
        prefix (Scalekit's Node SDK keeps the environment URL's path, `/prefix/…`)."""
        found = self.catalog.methods.get(path)
        if found is None:
            cut = path.rfind("/", 0, path.rfind("/"))
            if cut > 0:
                found = self.catalog.methods.get(path[cut:])
        return found

    def _bindings(self, method: GrpcMethod) -> tuple[Binding, ...]:
        """The method's bindings whose REST operation authrelay serves (found once)."""
        found = self._served.get(method.path)
        if found is None:
            found = tuple(b for b in method.bindings if self._route_exists(b))
            self._served[method.path] = found
        return found

    def _route_exists(self, binding: Binding) -> bool:
        scope = {
            "type": "http",
            "method": binding.verb,
            "path": sample_path(binding.template),
            "root_path": "",
        }
        return any(route.matches(scope)[0] == Match.FULL for route in self.routes)

    async def _read_body(self, receive: Receive) -> bytes:
        limit = self.max_message_bytes + PREFIX
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            body += message.get("body", b"")
            if len(body) > limit:
                raise GrpcError(
                    Code.RESOURCE_EXHAUSTED,
                    f"the request message is larger than {self.max_message_bytes} bytes",
                )
            if not message.get("more_body", False):
                return bytes(body)

    async def _call_rest(
        self, call: _Call, scope: Scope, rest: RestRequest, receive: Receive
    ) -> _Answer:
        """The REST answer, trying each distinct `authorization` the call carried until one
        is not refused as unauthenticated (an SDK that renewed its token sends the old one
        too; a refused token means nothing was done)."""
        tokens = call.authorizations or [b""]
        answer = _Answer()
        for token in tokens:
            answer = await self._call_once(call, scope, rest, token, receive)
            if not _token_refused(answer):
                break
        return answer

    async def _call_once(
        self, call: _Call, scope: Scope, rest: RestRequest, token: bytes, receive: Receive
    ) -> _Answer:
        assert self.rest is not None, "create_app sets the REST side"
        headers = [(b"host", call.host), *call.forwarded]
        if token:
            headers.append((b"authorization", token))
        body = rest.body or b""
        if rest.body is not None:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
        inner: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": rest.verb,
            "scheme": scope.get("scheme", "http"),
            "path": rest.path,
            "raw_path": rest.raw_path.encode("ascii"),
            "query_string": rest.query.encode("ascii"),
            "root_path": "",
            "headers": headers,
            "client": scope.get("client"),
            "server": scope.get("server"),
            # marks the call as the gateway's (the tool-call log's source: tools/asgi.py)
            "extensions": {GRPC_EXTENSION: {}},
        }
        if "state" in scope:
            inner["state"] = dict(scope["state"])
        sent = False
        answer = _Answer()
        cap = self.max_message_bytes * _JSON_GROWTH + 65_536

        async def inner_receive() -> AsgiMessage:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the client's disconnect, when it goes

        async def inner_send(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                answer.status = int(message["status"])
            elif message["type"] == "http.response.body" and not answer.too_large:
                answer.body += message.get("body", b"")
                if len(answer.body) > cap:
                    answer.too_large = True
                    answer.body.clear()

        try:
            await self.rest(inner, inner_receive, inner_send)
        except Exception as exc:
            if not answer.status:
                raise
            # Starlette answers an unhandled exception with its 500 and raises it again for
            # the server to log: do what the server does, and answer what the REST side said.
            log.error(
                "exception in ASGI application",
                exc_info=(type(exc), exc, exc.__traceback__),
                extra={"path": rest.path},
            )
        return answer

    def _response(self, method: GrpcMethod, answer: _Answer) -> bytes:
        if answer.too_large:
            raise self._too_large()
        if answer.status >= 300 or answer.status < 200:
            raise _rest_error(answer)
        out = method.output()
        if out.DESCRIPTOR.full_name != _EMPTY and answer.body:
            fields = json.loads(answer.body)
            adapter = ADAPTERS.get(method.path)
            if adapter is not None and adapter.response is not None:
                fields = adapter.response(fields)
            from_json(fields, out)
        raw = out.SerializeToString()
        if len(raw) > self.max_message_bytes:
            raise self._too_large()
        return frame(raw)

    def _too_large(self) -> GrpcError:
        return GrpcError(
            Code.RESOURCE_EXHAUSTED,
            f"the response message is larger than {self.max_message_bytes} bytes",
        )


class _ClientGone(Exception):
    """The client went away before its request was whole: nothing to answer."""


def _choose(served: tuple[Binding, ...], fields: dict[str, Any]) -> Binding:
    """The binding whose path the request fills best: every path field set, and the most
    of them (GetConnectedAccount's `/connected_accounts/{id}` when an id is given, its
    `/connected_accounts/this` otherwise); the first served one when none is filled."""
    if len(served) == 1:
        return served[0]
    best: Binding | None = None
    best_count = -1
    for binding in served:
        names = variables(binding.template)
        if all(_has(fields, name) for name in names) and len(names) > best_count:
            best, best_count = binding, len(names)
    return best or served[0]


def _has(fields: dict[str, Any], dotted: str) -> bool:
    current: Any = fields
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return current not in (None, "")


def _token_refused(answer: _Answer) -> bool:
    """Whether authrelay refused the call's token: its own 401, not an upstream's 401 that
    `execute_tool` passes on (the tool ran; it must not run again with another token)."""
    if answer.status != Code.UNAUTHENTICATED.http_status:
        return False
    return UPSTREAM_RESPONSE.encode() not in answer.body


def _rest_error(answer: _Answer) -> GrpcError:
    """The §2 envelope of an error answer as a GrpcError; an answer without one by its
    HTTP status."""
    try:
        envelope: Any = json.loads(answer.body)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and isinstance(envelope.get("code"), int):
        code = _CODES.get(envelope["code"], Code.UNKNOWN)
        details = envelope.get("details")
        return GrpcError(
            code,
            str(envelope.get("message", "")),
            [d for d in details if isinstance(d, dict)] if isinstance(details, list) else [],
        )
    code = Code.for_http_status(answer.status)
    return GrpcError(code, f"the operation answered HTTP {answer.status}")
