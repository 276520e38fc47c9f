"""The one error hierarchy of authrelay, rendered as ``google.rpc.Status`` JSON (SPEC §2).

    AuthrelayError                      root; never raised itself
    ├── InvalidArgument        3 / 400  a request is malformed; names every bad field
    │   └── PayloadTooLarge    3 / 413  a request body exceeds the configured limit
    ├── NotFound               5 / 404  the named resource does not exist in this environment
    ├── AlreadyExists          6 / 409  a resource with that identifier or name exists
    ├── PermissionDenied       7 / 403  the resource exists but may not be changed (built-ins)
    ├── FailedPrecondition     9 / 412  the state forbids it (stale etag, provider in use)
    ├── Unauthenticated       16 / 401  missing, expired, forged or foreign API token
    ├── IncompleteRequest               the request body never arrived whole; nothing is
    │   │                                answered (the connection is gone or being closed)
    │   ├── ClientClosedRequest 1 / 499  the client closed the connection mid-body
    │   └── RequestTimeout      4 / 408  the client sent the body too slowly (body timeouts)
    ├── Unavailable           14 / 502  the proxy could not reach the upstream
    ├── DeadlineExceeded       4 / 504  the upstream did not answer in time
    └── InternalError         13 / 500  a bug; the message never carries details

FAILED_PRECONDITION is always answered with HTTP 412 (see docs/api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import ClassVar

from authrelay_client.codes import Code
from authrelay_client.wire import (
    BadRequestBody,
    FieldViolationBody,
    StatusBody,
    UpstreamResponseBody,
)

MAX_VIOLATIONS = 100  # listed in one error; one more entry says how many were left out
MAX_FIELD_CHARS = 200  # an echoed field name (a key sent by the client can be any length)
MAX_DESCRIPTION_CHARS = 300
MAX_MESSAGE_CHARS = 2000
# 100 x (200 + 300 + JSON punctuation) + the message stays well under 64 KiB.


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str

    def as_json(self) -> FieldViolationBody:
        return {
            "field": clip(self.field, MAX_FIELD_CHARS),
            "description": clip(self.description, MAX_DESCRIPTION_CHARS),
        }


def bounded(violations: list[FieldViolation], total: int | None = None) -> list[FieldViolation]:
    """At most MAX_VIOLATIONS violations, plus one entry saying how many more there were
    (`total` when the caller stopped counting early and knows the real number)."""
    total = len(violations) if total is None else total
    if total <= MAX_VIOLATIONS:
        return violations
    more = total - MAX_VIOLATIONS
    return [
        *violations[:MAX_VIOLATIONS],
        FieldViolation("body", f"{more} more violations are not listed"),
    ]


class AuthrelayError(Exception):
    """Base class: `code` is the google.rpc code, `http_status` the HTTP status it maps to."""

    code: ClassVar[Code] = Code.UNKNOWN
    http_status: ClassVar[int] = Code.UNKNOWN.http_status

    def __init__(
        self,
        message: str,
        violations: list[FieldViolation] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        message = clip(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.message = message
        self.violations = violations or []  # from_violations bounds them
        self.headers = headers or {}

    def body(self) -> StatusBody:
        details: list[BadRequestBody | UpstreamResponseBody] = []
        if self.violations:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "field_violations": [v.as_json() for v in self.violations],
                }
            )
        return {"code": self.code, "message": self.message, "details": details}


class InvalidArgument(AuthrelayError):
    """Raised when a request body, query or header is malformed."""

    code = Code.INVALID_ARGUMENT
    http_status = Code.INVALID_ARGUMENT.http_status

    @classmethod
    def from_violations(
        cls, violations: list[FieldViolation], total: int | None = None
    ) -> InvalidArgument:
        listed = bounded(violations, total)
        parts: list[str] = []
        size = 0
        for v in listed:  # the message repeats the first few; the details list them all
            part = f"{clip(v.field, 100)}: {clip(v.description, 200)}"
            size += len(part) + 2
            if size > MAX_MESSAGE_CHARS - 100 and parts:
                parts.append(f"and {len(listed) - len(parts)} more (see details)")
                break
            parts.append(part)
        return cls("; ".join(parts), listed)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls.from_violations([FieldViolation(field, description)])


class PayloadTooLarge(InvalidArgument):
    """Raised when a request body is larger than `max_body_bytes`."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class NotFound(AuthrelayError):
    """Raised when a provider, connection or account does not exist in the environment."""

    code = Code.NOT_FOUND
    http_status = Code.NOT_FOUND.http_status


class AlreadyExists(AuthrelayError):
    """Raised when creating something whose identifier or name is taken."""

    code = Code.ALREADY_EXISTS
    http_status = Code.ALREADY_EXISTS.http_status


class PermissionDenied(AuthrelayError):
    """Raised when changing something that cannot be changed, such as a built-in provider."""

    code = Code.PERMISSION_DENIED
    http_status = Code.PERMISSION_DENIED.http_status


class FailedPrecondition(AuthrelayError):
    """Raised when the stored state forbids the operation (stale etag, provider in use)."""

    code = Code.FAILED_PRECONDITION
    http_status = Code.FAILED_PRECONDITION.http_status


class Unauthenticated(AuthrelayError):
    """Raised when the API token is missing, malformed, expired, forged or of another place."""

    code = Code.UNAUTHENTICATED
    http_status = Code.UNAUTHENTICATED.http_status

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="authrelay"'})


class IncompleteRequest(AuthrelayError):
    """The request body never arrived whole. Not a server error: logged at INFO and counted
    under its own status (499 or 408, nginx's conventions), never as a 500."""


class ClientClosedRequest(IncompleteRequest):
    """Raised when the client disconnects before sending the whole body (nginx's 499)."""

    code = Code.CANCELLED
    http_status = Code.CANCELLED.http_status


class RequestTimeout(IncompleteRequest):
    """Raised when the server closed the connection because the body came too slowly."""

    code = Code.DEADLINE_EXCEEDED
    http_status = HTTPStatus.REQUEST_TIMEOUT  # the client was too slow (nginx's convention)


class Unavailable(AuthrelayError):
    """Raised by the proxy when the upstream cannot be reached."""

    code = Code.UNAVAILABLE
    http_status = HTTPStatus.BAD_GATEWAY  # it is the upstream that is unavailable


class DeadlineExceeded(AuthrelayError):
    """Raised by the proxy when the upstream does not answer within the read timeout."""

    code = Code.DEADLINE_EXCEEDED
    http_status = Code.DEADLINE_EXCEEDED.http_status


class InternalError(AuthrelayError):
    """Raised (or substituted) for unexpected failures; the message never carries details."""

    code = Code.INTERNAL
    http_status = Code.INTERNAL.http_status
