"""Errors raised by the client.

AuthrelayClientError                root of everything the client raises
├── ConfigurationError              no environment URL or credentials were given or found,
│                                   or the URL is not an http(s):// URL
├── APIConnectionError              the server could not be reached (refused, DNS, TLS,
│   │                               protocol): `url` names what was called
│   └── APITimeoutError             no answer in time
├── AuthenticationError             POST /oauth/token refused the client credentials
└── ApiError                        authrelay answered with its error JSON (google.rpc.Status)
    ├── InvalidArgumentError        code 3, HTTP 400/413: a bad body, field or parameter
    │                               (`field_violations` names every bad field)
    ├── DeadlineExceededError       code 4, HTTP 504: the proxy's upstream timed out
    ├── NotFoundError               code 5, HTTP 404: no such provider, connection, account;
    │                               also raised by `providers.get` when nothing matches
    ├── AlreadyExistsError          code 6, HTTP 409: identifier / connection name / account taken
    ├── PermissionDeniedError       code 7, HTTP 403: built-in provider, blocked proxy target
    ├── FailedPreconditionError     code 9, HTTP 412: stale `If-Match` etag, provider or
    │                               connection still in use, disabled connection, inactive account
    ├── UnimplementedError          code 12, HTTP 405: method not allowed on the route
    ├── InternalError               code 13, HTTP 500: a server bug (see the server log)
    ├── UnavailableError            code 14, HTTP 502/503: upstream or server unreachable
    ├── UnauthenticatedError        code 16, HTTP 401: the token was refused even after renewal
    └── ProxyError                  `actions.request` only: authrelay itself (not the upstream)
                                    refused a proxied call (`x-authrelay-error` header)

An error of another code (or none) is a plain `ApiError`. A `ProxyError` is *also* an
instance of the class for its code: a proxy 404 is raised as a class deriving from both
`ProxyError` and `NotFoundError`, so `except authrelay_client.NotFoundError` catches it, and
`except authrelay_client.ProxyError` catches every proxy-side refusal. Every `ApiError` carries
`status` (HTTP), `code` (google.rpc), `message`, `field_violations` (list of
`{"field", "description"}`) and the raw `body`.
"""

from __future__ import annotations

from typing import Any, cast

from authrelay_client.codes import Code


class AuthrelayClientError(Exception):
    """Base class of every error the client raises."""


class ConfigurationError(AuthrelayClientError):
    """Raised when the environment URL or client credentials are missing."""


class AuthenticationError(AuthrelayClientError):
    """Raised when the token endpoint refuses the client credentials."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description} (HTTP {status})")
        self.status = status
        self.error = error
        self.description = description


class APIConnectionError(AuthrelayClientError):
    """Raised when the server could not be reached or the exchange broke off (connection
    refused, unknown host, TLS failure, malformed answer); `url` is what was called."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class APITimeoutError(APIConnectionError):
    """Raised when the server did not answer in time."""


class ApiError(AuthrelayClientError):
    """Raised when authrelay answers with its own error: `code` is the google.rpc code."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        try:  # an answer without a code (a proxy's page in front) gets its status's
            self.code = int(body.get("code", Code.for_http_status(status)))
        except (TypeError, ValueError):
            self.code = int(Code.for_http_status(status))
        self.message = str(body.get("message", ""))
        details = body.get("details")
        self.field_violations: list[dict[str, str]] = [
            {str(k): str(v) for k, v in violation.items()}
            for detail in (details if isinstance(details, list) else [])
            if isinstance(detail, dict)
            for violation in detail.get("field_violations", [])
            if isinstance(violation, dict)
        ]
        super().__init__(f"{self.message} (HTTP {status}, code {self.code})")


class InvalidArgumentError(ApiError):
    """Code 3 (HTTP 400, or 413 for a body too large): names every bad field."""


class DeadlineExceededError(ApiError):
    """Code 4 (HTTP 504): the upstream did not answer in time."""


class NotFoundError(ApiError):
    """Code 5 (HTTP 404): no such resource in this environment."""


class AlreadyExistsError(ApiError):
    """Code 6 (HTTP 409): the identifier, connection name or account is taken."""


class PermissionDeniedError(ApiError):
    """Code 7 (HTTP 403): e.g. changing a built-in provider, a blocked proxy target."""


class FailedPreconditionError(ApiError):
    """Code 9 (HTTP 412): stale If-Match, resource still in use, connection disabled, …"""


class UnimplementedError(ApiError):
    """Code 12 (HTTP 405): the method is not allowed on the route."""


class InternalError(ApiError):
    """Code 13 (HTTP 500): a server bug."""


class UnavailableError(ApiError):
    """Code 14 (HTTP 502/503): the upstream (or the server's store) is unreachable."""


class UnauthenticatedError(ApiError):
    """Code 16 (HTTP 401): the API token was refused, even after one renewal."""


class ProxyError(ApiError):
    """Raised by `actions.request` when authrelay, not the upstream, refused the call.

    The raised object is also an instance of the class for its code (`NotFoundError`, …)."""


BY_CODE: dict[int, type[ApiError]] = {
    Code.INVALID_ARGUMENT: InvalidArgumentError,
    Code.DEADLINE_EXCEEDED: DeadlineExceededError,
    Code.NOT_FOUND: NotFoundError,
    Code.ALREADY_EXISTS: AlreadyExistsError,
    Code.PERMISSION_DENIED: PermissionDeniedError,
    Code.FAILED_PRECONDITION: FailedPreconditionError,
    Code.UNIMPLEMENTED: UnimplementedError,
    Code.INTERNAL: InternalError,
    Code.UNAVAILABLE: UnavailableError,
    Code.UNAUTHENTICATED: UnauthenticatedError,
}

_PROXY_BY_CODE: dict[int, type[ProxyError]] = {
    code: cast(
        "type[ProxyError]",
        type(f"Proxy{cls.__name__}", (ProxyError, cls), {"__module__": __name__}),
    )
    for code, cls in BY_CODE.items()
}


def api_error(status: int, body: dict[str, Any], *, proxy: bool = False) -> ApiError:
    """The exception for an error answer: the subclass for its google.rpc code."""
    probe = ApiError(status, body)
    if proxy:
        return _PROXY_BY_CODE.get(probe.code, ProxyError)(status, body)
    return BY_CODE.get(probe.code, ApiError)(status, body)
