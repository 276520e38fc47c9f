"""Error bodies: the google.rpc `Status` envelope of every failed call (SPEC §2) and the
RFC 6749 §5.2 answer of the token endpoint."""

from typing import Annotated, Any, Literal

from typing_extensions import TypedDict

from authrelay_client.wire._schema import Schema


class FieldViolationBody(TypedDict):
    field: str
    description: str


BadRequestBody = TypedDict(
    "BadRequestBody",
    {
        "@type": Literal["type.googleapis.com/google.rpc.BadRequest"],
        "field_violations": list[FieldViolationBody],
    },
)

UpstreamResponseBody = TypedDict(
    "UpstreamResponseBody",
    {
        "@type": Literal["type.googleapis.com/authrelay.v1.UpstreamResponse"],
        "source": Literal["upstream"],
        "status": int,
        "body": Any,
    },
)
"""A tool call's upstream error answer (POST /api/v1/execute_tool): its status and body."""


class StatusBody(TypedDict):
    """The error body of every failed call (google.rpc.Status, SPEC §2)."""

    code: Annotated[
        int,
        Schema(
            description="google.rpc.Code: 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, "
            "5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED, 9 FAILED_PRECONDITION, "
            "12 UNIMPLEMENTED, 13 INTERNAL, 14 UNAVAILABLE, 16 UNAUTHENTICATED"
        ),
    ]
    message: str
    details: list[BadRequestBody | UpstreamResponseBody]


#: the SPEC §2 error envelope
ErrorBody = StatusBody


class OAuthErrorBody(TypedDict):
    """RFC 6749 §5.2 error response of the token endpoint."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
    error_description: str
