"""The one error hierarchy of authrelay, rendered as ``google.rpc.Status`` JSON (SPEC §2).

    AuthrelayError                      root; never raised itself
    ├── InvalidArgument        3 / 400  a request is malformed; names every bad field
    │   └── PayloadTooLarge    3 / 413  a request body exceeds the configured limit
    ├── NotFound               5 / 404  the named resource does not exist in this environment
    ├── AlreadyExists          6 / 409  a resource with that identifier or name exists
    ├── PermissionDenied       7 / 403  the resource exists but may not be changed (built-ins)
    ├── FailedPrecondition     9 / 412  the state forbids it (stale etag, provider in use)
    ├── Unauthenticated       16 / 401  missing, expired, forged or foreign API token
    ├── Unavailable           14 / 502  the proxy could not reach the upstream
    ├── DeadlineExceeded       4 / 504  the upstream did not answer in time
    └── InternalError         13 / 500  a bug; the message never carries details

FAILED_PRECONDITION is always answered with HTTP 412 (see docs/api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "description": self.description}


class AuthrelayError(Exception):
    """Base class: `code` is the google.rpc code, `http_status` the HTTP status it maps to."""

    code: ClassVar[int] = 2
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        violations: list[FieldViolation] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.violations = violations or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = []
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

    code = 3
    http_status = 400

    @classmethod
    def from_violations(cls, violations: list[FieldViolation]) -> InvalidArgument:
        message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return cls(message, violations)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls.from_violations([FieldViolation(field, description)])


class PayloadTooLarge(InvalidArgument):
    """Raised when a request body is larger than `max_body_bytes`."""

    http_status = 413


class NotFound(AuthrelayError):
    """Raised when a provider, connection or account does not exist in the environment."""

    code = 5
    http_status = 404


class AlreadyExists(AuthrelayError):
    """Raised when creating something whose identifier or name is taken."""

    code = 6
    http_status = 409


class PermissionDenied(AuthrelayError):
    """Raised when changing something that cannot be changed, such as a built-in provider."""

    code = 7
    http_status = 403


class FailedPrecondition(AuthrelayError):
    """Raised when the stored state forbids the operation (stale etag, provider in use)."""

    code = 9
    http_status = 412


class Unauthenticated(AuthrelayError):
    """Raised when the API token is missing, malformed, expired, forged or of another place."""

    code = 16
    http_status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="authrelay"'})


class Unavailable(AuthrelayError):
    """Raised by the proxy when the upstream cannot be reached."""

    code = 14
    http_status = 502


class DeadlineExceeded(AuthrelayError):
    """Raised by the proxy when the upstream does not answer within the read timeout."""

    code = 4
    http_status = 504


class InternalError(AuthrelayError):
    """Raised (or substituted) for unexpected failures; the message never carries details."""

    code = 13
    http_status = 500


CODE_NAMES = {
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    9: "FAILED_PRECONDITION",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}
