"""Transport failures (refused, DNS, TLS, timeouts, protocol) as the client's own errors."""

from __future__ import annotations

import httpx

from authrelay_client._exceptions import APIConnectionError, APITimeoutError


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        lowered = text.lower()
        if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
            return f"TLS failure ({text})"
        return f"connection failed ({text})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"not an http:// or https:// URL ({text})"
    return text


def wrap(exc: Exception, url: object) -> APIConnectionError:
    """The client error for an httpx transport failure calling `url`."""
    where = str(url)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(where, f"no answer in time ({type(exc).__name__})")
    return APIConnectionError(where, _reason(exc))


# What the clients catch around every exchange.
FAILURES = (httpx.RequestError, httpx.InvalidURL)
