"""gRPC statuses: authrelay's §2 error `{code, message, details}` as the trailers
`grpc-status`, `grpc-message` (percent-encoded as the gRPC spec says) and
`grpc-status-details-bin` (a base64 `google.rpc.Status`).

The details carry what Scalekit's SDKs read: both look for `scalekit.v1.errdetails.ErrorInfo`
and its `error_code`; `TOOL_ERROR` (an upstream's error answer to `execute_tool`) selects their
tool-error exceptions and turns their retries off, with the upstream's status in
`ToolErrorInfo.tool_error_code`. Then authrelay's own details: `google.rpc.BadRequest` as
itself, any other detail as a `google.protobuf.Struct` of its REST JSON (with its `@type`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import any_pb2, struct_pb2
from google.rpc import error_details_pb2, status_pb2

from authrelay.grpc.descriptors import ERROR_INFO, Catalog
from authrelay_client.codes import Code

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
UPSTREAM_RESPONSE = "type.googleapis.com/authrelay.v1.UpstreamResponse"
TOOL_ERROR = "TOOL_ERROR"
_MAX_TOOL_MESSAGE = 2000
_MAX_GRPC_MESSAGE = 4000


class GrpcError(Exception):
    """A call's outcome other than OK: a code, a message and the REST details."""

    def __init__(self, code: Code, message: str, details: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)


def percent_encode(message: str) -> str:
    """`grpc-message`'s encoding: UTF-8, then every byte outside printable ASCII and `%`
    itself as `%XX`."""
    out = []
    for byte in message.encode("utf-8"):
        out.append(chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}")
    return "".join(out)


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _error_info(catalog: Catalog, error: GrpcError) -> Any:
    info = catalog.message_class(ERROR_INFO)()
    upstream = next((d for d in error.details if d.get("@type") == UPSTREAM_RESPONSE), None)
    if upstream is None:
        info.error_code = error.code.name
        return info
    info.error_code = TOOL_ERROR
    tool = info.tool_error_info
    tool.tool_error_code = str(upstream.get("status", ""))
    body = upstream.get("body")
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    tool.tool_error_message = (text or error.message)[:_MAX_TOOL_MESSAGE]
    execution_id = upstream.get("execution_id")
    if isinstance(execution_id, str):
        tool.execution_id = execution_id
    return info


def _own_detail(detail: Mapping[str, Any]) -> any_pb2.Any:
    if detail.get("@type") == BAD_REQUEST:
        bad = error_details_pb2.BadRequest()
        for violation in detail.get("field_violations") or ():
            if isinstance(violation, Mapping):
                bad.field_violations.add(
                    field=str(violation.get("field", "")),
                    description=str(violation.get("description", "")),
                )
        return _pack(bad)
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(detail)))  # plain JSON values only
    return _pack(struct)


def status_message(catalog: Catalog, error: GrpcError) -> status_pb2.Status:
    """The `google.rpc.Status` of `error`: ErrorInfo first, then authrelay's details."""
    status = status_pb2.Status(code=int(error.code), message=error.message)
    status.details.append(_pack(_error_info(catalog, error)))
    for detail in error.details:
        status.details.append(_own_detail(detail))
    return status


def trailers(catalog: Catalog, error: GrpcError | None) -> list[tuple[bytes, bytes]]:
    """The trailers of a call that ends with `error` (None: OK)."""
    if error is None:
        return [(b"grpc-status", b"0")]
    message = error.message[:_MAX_GRPC_MESSAGE]
    error = GrpcError(error.code, message, error.details)
    raw = status_message(catalog, error).SerializeToString()
    return [
        (b"grpc-status", str(int(error.code)).encode()),
        (b"grpc-message", percent_encode(message).encode("ascii")),
        (b"grpc-status-details-bin", base64.b64encode(raw).rstrip(b"=")),
    ]
