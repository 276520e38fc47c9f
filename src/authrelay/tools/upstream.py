"""The upstream's answer as a tool result, or as the §2 error carrying the upstream's
status and body (marked as the upstream's, not authrelay's), with the call's credentials
blanked out of that body in every encoding (`authrelay.redact`)."""

from __future__ import annotations

import functools
import json
from http import HTTPStatus
from typing import Any, Final

from authrelay.errors import AuthrelayError
from authrelay.proxy.call import Answer
from authrelay.redact import Redactor
from authrelay_client.codes import Code
from authrelay_client.wire import StatusBody

UPSTREAM_DETAIL: Final = "type.googleapis.com/authrelay.v1.UpstreamResponse"
_MAX_BODY_IN_ERROR = 16_384


class UpstreamError(AuthrelayError):
    """The upstream answered a tool call with an error status. The HTTP status is the
    upstream's for 4xx and 502 for anything else; the details hold the upstream's answer."""

    code = Code.UNKNOWN
    http_status = HTTPStatus.BAD_GATEWAY

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


def _client_error(status: int) -> bool:
    return HTTPStatus.BAD_REQUEST <= status < HTTPStatus.INTERNAL_SERVER_ERROR


def code_of(status: int) -> Code:
    """The google.rpc code of an upstream's error status: the code authrelay's own answers
    carry for that status (`Code.for_http_status`: 409 is ALREADY_EXISTS, as in the API and
    the SDK). A status no code maps from is INVALID_ARGUMENT for a 4xx, and any 5xx but 501
    and 504 is UNAVAILABLE: the upstream failed, not authrelay (the answer is a 502)."""
    code = Code.for_http_status(status)
    if code in (Code.UNKNOWN, Code.INTERNAL):
        return Code.INVALID_ARGUMENT if _client_error(status) else Code.UNAVAILABLE
    return code


@functools.cache  # one class per status, not one per failed call
def _error_class(status: int) -> type[UpstreamError]:
    http = status if _client_error(status) else HTTPStatus.BAD_GATEWAY
    code = code_of(status)
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
    if answer.status >= HTTPStatus.BAD_REQUEST:
        body = Redactor(answer.secrets).json(decode(answer))
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
