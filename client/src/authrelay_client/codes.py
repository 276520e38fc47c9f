"""The google.rpc codes of the SPEC §2 error envelope, with the HTTP status each maps to.

One enum written once and read by the server (`errors.py`, the plain-ASGI apps, tool
errors), the SDK (which exception class an answer raises) and the CLI. It imports nothing,
so that it can travel with the SDK on its own.

`Code.X.http_status` is the status grpc-gateway answers for the code, with the one choice
SPEC §2 leaves open made: FAILED_PRECONDITION is 412. A few errors answer with a more
precise status than their code's (413 for a body too large, 502 for an unreachable
upstream); their classes in `errors.py` say so. `Code.for_http_status` is the way back,
used where only a status is known (a routing error, an answer without a JSON body, an
upstream's answer to a tool call).
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """A google.rpc code: `int(code)` is its number, `code.name` its name."""

    http_status: int

    def __new__(cls, value: int, http_status: int) -> Code:
        member = int.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        return member

    OK = 0, 200
    """Not an error."""
    CANCELLED = 1, 499
    """The client went away before its request was complete (nginx's 499; never sent)."""
    UNKNOWN = 2, 500
    """An error of no known kind (an HTTP status no code maps from)."""
    INVALID_ARGUMENT = 3, 400
    """The request is malformed: a body, field, query parameter or header."""
    DEADLINE_EXCEEDED = 4, 504
    """Something did not arrive in time: the upstream's answer, or the client's request."""
    NOT_FOUND = 5, 404
    """The named resource (or route) does not exist in this environment."""
    ALREADY_EXISTS = 6, 409
    """A resource with that identifier or name exists already."""
    PERMISSION_DENIED = 7, 403
    """The caller may not do this (a built-in resource, a refused proxy target)."""
    RESOURCE_EXHAUSTED = 8, 429
    """A quota or rate limit was reached."""
    FAILED_PRECONDITION = 9, 412
    """The stored state forbids it (a stale etag, a resource still in use)."""
    ABORTED = 10, 409
    """A concurrency conflict aborted the operation (authrelay answers 409s as ALREADY_EXISTS)."""
    OUT_OF_RANGE = 11, 400
    """A value is past the valid range."""
    UNIMPLEMENTED = 12, 501
    """The operation is not implemented (authrelay's 405, method not allowed, maps here)."""
    INTERNAL = 13, 500
    """A bug; the message carries no details."""
    UNAVAILABLE = 14, 503
    """The service (or the upstream) cannot be reached or is overloaded; try again."""
    DATA_LOSS = 15, 500
    """Unrecoverable data loss or corruption."""
    UNAUTHENTICATED = 16, 401
    """The credentials are missing, malformed, expired or of another place."""

    @classmethod
    def name_of(cls, number: int) -> str:
        """The name of a code number (`"NOT_FOUND"` for 5), or the number written out for
        one that is not a google.rpc code."""
        member = cls._value2member_map_.get(number)
        return member.name if isinstance(member, Code) else str(number)

    @classmethod
    def for_http_status(cls, status: int) -> Code:
        """The code an answer with this HTTP status carries (UNKNOWN for a status no code
        maps from): the inverse of authrelay's own mapping, 409 being ALREADY_EXISTS."""
        return _BY_HTTP_STATUS.get(status, cls.UNKNOWN)


_BY_HTTP_STATUS = {
    400: Code.INVALID_ARGUMENT,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.NOT_FOUND,
    405: Code.UNIMPLEMENTED,
    408: Code.DEADLINE_EXCEEDED,
    409: Code.ALREADY_EXISTS,
    412: Code.FAILED_PRECONDITION,
    413: Code.INVALID_ARGUMENT,
    415: Code.INVALID_ARGUMENT,
    429: Code.RESOURCE_EXHAUSTED,
    431: Code.INVALID_ARGUMENT,
    499: Code.CANCELLED,
    500: Code.INTERNAL,
    501: Code.UNIMPLEMENTED,
    502: Code.UNAVAILABLE,
    503: Code.UNAVAILABLE,
    504: Code.DEADLINE_EXCEEDED,
}
