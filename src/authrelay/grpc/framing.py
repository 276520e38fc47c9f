"""gRPC's length-prefixed messages (one byte "compressed" flag, four bytes of big-endian
length, the message) and the `grpc-timeout` header."""

from __future__ import annotations

import re

from authrelay.grpc.status import GrpcError
from authrelay_client.codes import Code

PREFIX = 5
_TIMEOUT = re.compile(rb"([0-9]{1,8})([HMSmun])")
_UNIT_SECONDS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}


def frame(message: bytes) -> bytes:
    """`message` as one uncompressed length-prefixed message."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def unframe(body: bytes, encoding: str) -> bytes:
    """The one message of a unary request's body."""
    if len(body) < PREFIX:
        raise GrpcError(Code.INVALID_ARGUMENT, "the request holds no complete gRPC message")
    flag = body[0]
    length = int.from_bytes(body[1:PREFIX], "big")
    if flag not in (0, 1):
        raise GrpcError(Code.INVALID_ARGUMENT, f"invalid gRPC message flag {flag}")
    if flag == 1:
        raise GrpcError(
            Code.UNIMPLEMENTED,
            f"compressed messages are not supported (grpc-encoding {encoding or 'none'});"
            " this server accepts identity only",
        )
    if len(body) != PREFIX + length:
        what = "truncated" if len(body) < PREFIX + length else "followed by more data"
        raise GrpcError(Code.INVALID_ARGUMENT, f"the request's gRPC message is {what}")
    return body[PREFIX:]


def timeout_seconds(value: bytes) -> float:
    """`grpc-timeout` (`20S`, `100m`, …) in seconds."""
    match = _TIMEOUT.fullmatch(value.strip())
    if match is None:
        raise GrpcError(Code.INVALID_ARGUMENT, "malformed grpc-timeout header")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
