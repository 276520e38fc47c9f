"""Errors raised by the client.

AuthrelayClientError           root
├── AuthenticationError        POST /oauth/token refused the client credentials
├── ConfigurationError         no environment URL or credentials were given or found
└── ApiError                   authrelay itself answered with a SPEC §2 error
    └── ProxyError             ...on a proxied call (not the upstream's own answer)
"""

from __future__ import annotations

from typing import Any


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


class ApiError(AuthrelayClientError):
    """Raised when authrelay answers with its own error: `code` is the google.rpc code."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.code = int(body.get("code", 2))
        self.message = str(body.get("message", ""))
        self.field_violations: list[dict[str, str]] = [
            v for d in body.get("details", []) for v in d.get("field_violations", [])
        ]
        super().__init__(f"{self.message} (HTTP {status}, code {self.code})")


class ProxyError(ApiError):
    """Raised by `actions.request` when authrelay, not the upstream, refused the call."""
