"""Request bodies of the connected-account routes (`scalekit.v1.connected_accounts`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from authrelay.connections.model import Credential
from authrelay_client.providers.model import ScopeName, StrictModel
from authrelay_client.wire import JSONObject


def _identifier(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters (it travels in a header)")
    return value


Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(_identifier)
]
OptionalId = Annotated[str, StringConstraints(max_length=255)] | None


class OAuthTokenInput(StrictModel):
    access_token: Credential
    refresh_token: Credential | None = None
    scopes: list[ScopeName] | None = None
    domain: Annotated[str, StringConstraints(max_length=253)] | None = None


class StaticAuthInput(StrictModel):
    details: JSONObject


class AuthorizationDetailsInput(StrictModel):
    oauth_token: OAuthTokenInput | None = None
    static_auth: StaticAuthInput | None = None


class AccountBody(StrictModel):
    authorization_details: AuthorizationDetailsInput | None = None
    api_config: JSONObject | None = None


class ScopeSelection(StrictModel):
    scopes: list[ScopeName] | None = None
    optional_scopes: list[ScopeName] | None = None


class CreateAccountRequest(StrictModel):
    organization_id: OptionalId = None
    user_id: OptionalId = None
    connector: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    identifier: Identifier
    connected_account: AccountBody | None = None


class UpdateAccountRequest(StrictModel):
    organization_id: OptionalId = None
    user_id: OptionalId = None
    connector: Annotated[str, StringConstraints(max_length=200)] | None = None
    identifier: Identifier | None = None
    id: OptionalId = None
    connected_account: AccountBody | None = None
    scope_selection: ScopeSelection | None = None


class AccountRef(StrictModel):
    """Names one account: by `id`, or by `connector` and `identifier`."""

    organization_id: OptionalId = None
    user_id: OptionalId = None
    connector: Annotated[str, StringConstraints(max_length=200)] | None = None
    identifier: Annotated[str, StringConstraints(max_length=255)] | None = None
    id: OptionalId = None
