"""Bodies of the token endpoint, the key set and the health probes."""

from typing import Annotated, Literal, NotRequired

from typing_extensions import TypedDict

from authrelay_client.wire._schema import JSONObject, Schema


class TokenResponse(TypedDict):
    access_token: Annotated[str, Schema(description="A signed JWT (see /keys).")]
    token_type: Literal["Bearer"]
    expires_in: int


class TokenRequest(TypedDict):
    """Client credentials in the body, or in an Authorization: Basic header (then without
    client_secret here)."""

    grant_type: Literal["client_credentials"]
    client_id: NotRequired[str]
    client_secret: NotRequired[str]


class JWKS(TypedDict):
    """The public keys that verify access tokens (RFC 7517)."""

    keys: list[JSONObject]


class HealthBody(TypedDict):
    status: Literal["ok"]


class ReadinessBody(TypedDict):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


class EmptyBody(TypedDict):
    """An empty object."""
