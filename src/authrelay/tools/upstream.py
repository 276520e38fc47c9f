"""The upstream's answer as a tool result, or as the §2 error carrying the upstream's
status and body (marked as the upstream's, not authrelay's)."""

from __future__ import annotations

import functools
import json
from functools import cache
from typing import Any, Final

from authrelay.errors import AuthrelayError
from authrelay.proxy.call import Answer
from authrelay.wire import StatusBody

UPSTREAM_DETAIL: Final = "type.googleapis.com/authrelay.v1.UpstreamResponse"
# The google.rpc code grpc-gateway maps each HTTP status from.
_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 412: 9, 429: 8, 501: 12, 503: 14, 504: 4}
_MAX_BODY_IN_ERROR = 16_384


class UpstreamError(AuthrelayError):
    """The upstream answered a tool call with an error status. The HTTP status is the
    upstream's for 4xx and 502 for anything else; the details hold the upstream's answer."""

    code = 2
    http_status = 502

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message, headers={"X-Authrelay-Upstream-Status": str(status)})
        self.upstream_status = status
        self.upstream_body = body

    def body(self) -> StatusBody:
        out = super().body()
        out["details"].append(
            {
                "@type": UPSTREAM_DETAIL,
                "source": "upstream",
                "status": self.upstream_status,
                "body": self.upstream_body,
            }
        )
        return out


@cache
@functools.cache  # one class per status, not one per failed call
def _error_class(status: int) -> type[UpstreamError]:
    http = status if 400 <= status < 500 else 502
    code = _CODES.get(status, 3 if 400 <= status < 500 else 14 if status >= 500 else 2)
    return type(f"UpstreamError{status}", (UpstreamError,), {"code": code, "http_status": http})


def decode(answer: Answer) -> Any:
    """The answer's body as JSON when it is JSON, else as text (None when empty)."""
    if not answer.body:
        return None
    text = answer.body.decode("utf-8", errors="replace")
    if answer.truncated:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _select(value: Any, pointer: str) -> Any:
    """RFC 6901 JSON Pointer into `value`; the whole value when the pointer does not fit."""
    if not pointer:
        return value
    current = value
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return value
    return current


def result_of(answer: Answer, select: str) -> dict[str, Any]:
    """`data` of a successful call: a JSON object as it is; anything else as
    `{"result": …}`; an answer over the cap as `{"result": <first bytes>, "truncated": true}`."""
    if answer.status >= 400:
        body = decode(answer)
        if isinstance(body, str) and len(body) > _MAX_BODY_IN_ERROR:
            body = body[:_MAX_BODY_IN_ERROR]
        raise _error_class(answer.status)(
            f"the upstream answered {answer.status}", answer.status, body
        )
    value = decode(answer)
    if answer.truncated:
        return {"result": value, "truncated": True}
    value = _select(value, select)
    return value if isinstance(value, dict) else {"result": value}
