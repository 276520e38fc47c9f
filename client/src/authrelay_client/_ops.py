"""Request builders and response parsers shared by the sync and async resources.

Each API call is an `Op`: the keyword arguments of one `httpx` request plus the function
that turns the response into a model (or raises the `ApiError` subclass for its code). A
list call is a function from a page token to an `Op` returning `(items, next_page_token)`.
The clients only send; everything else lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NotRequired, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from typing_extensions import TypedDict

from authrelay_client._exceptions import NotFoundError, api_error
from authrelay_client.codes import Code
from authrelay_client.models import (
    AuthorizationLink,
    ConnectedAccount,
    Connection,
    ListConnectedAccountsResponse,
    ListConnectionsResponse,
    ListProvidersResponse,
    Provider,
    ProviderDefinition,
    ToggleConnectionResponse,
)
from authrelay_client.wire import (
    AccountFieldsInput,
    AccountFilters,
    AuthorizationDetailsInput,
    ConnectedAccountRequest,
    ConnectionOAuthConfigInput,
    ConnectionRequest,
    JSONObject,
    MagicLinkRequest,
    ScopeSelectionInput,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Page = tuple[list[T], str]

PROVIDER_PAGE_SIZE = 1000  # the server's maximum
CONNECTION_PAGE_SIZE = 30
ACCOUNT_PAGE_SIZE = 100


class HttpRequest(TypedDict):
    """The arguments of one `httpx` request."""

    method: str
    url: str
    headers: dict[str, str]
    params: NotRequired[httpx.QueryParams]
    json: NotRequired[object]
    data: NotRequired[Mapping[str, object]]
    content: NotRequired[bytes | str]


@dataclass(frozen=True)
class Op(Generic[T]):
    request: HttpRequest
    parse: Callable[[httpx.Response], T]


def segment(value: str) -> str:
    """One URL path segment, percent-encoded."""
    return quote(value, safe="")


def request(
    base: str,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: object = None,
    headers: dict[str, str] | None = None,
) -> HttpRequest:
    req: HttpRequest = {"method": method, "url": f"{base}{path}", "headers": headers or {}}
    if params:
        req["params"] = httpx.QueryParams({k: v for k, v in params.items() if v is not None})
    if json is not None:
        req["json"] = json
    return req


def answer(response: httpx.Response) -> JSONObject:
    """The JSON object of a successful answer, not yet read into a model; raises the
    `ApiError` for an error."""
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if response.is_error or not isinstance(body, dict):
        raise api_error(response.status_code, body if isinstance(body, dict) else {})
    return body


def model_of(model: type[M], key: str | None = None) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        body = answer(response)
        return model.model_validate(body[key] if key else body)

    return parse


def nothing(response: httpx.Response) -> None:
    answer(response)


def not_found(message: str) -> NotFoundError:
    return NotFoundError(
        Code.NOT_FOUND.http_status, {"code": int(Code.NOT_FOUND), "message": message}
    )


# --- providers ---------------------------------------------------------------------------


def provider_type(value: str) -> str:
    upper = value.upper()
    if upper not in {"ALL", "CUSTOM", "DEFAULT"}:
        raise ValueError(f"type must be 'all', 'custom' or 'default', not {value!r}")
    return upper


def providers_page(
    base: str, type: str, identifier: str | None, page_size: int
) -> Callable[[str], Op[Page[Provider]]]:
    kind = provider_type(type)

    def page(token: str) -> Op[Page[Provider]]:
        params = {
            "filter.provider_type": kind,
            "page_size": page_size,
            "page_token": token or None,
            "identifier": identifier,
        }

        def parse(response: httpx.Response) -> Page[Provider]:
            body = ListProvidersResponse.model_validate(answer(response))
            return body.providers, body.next_page_token

        return Op(request(base, "GET", "/api/v1/providers", params=params), parse)

    return page


def find_provider(providers: list[Provider], name_or_identifier: str) -> Provider:
    """By identifier first, then by display name (case-insensitively)."""
    for provider in providers:
        if provider.identifier == name_or_identifier:
            return provider
    wanted = name_or_identifier.casefold()
    for provider in providers:
        if provider.display_name.casefold() == wanted:
            return provider
    raise not_found(f"no provider named or identified {name_or_identifier!r}")


def definition_body(definition: Mapping[str, Any] | ProviderDefinition | Provider) -> Any:
    if isinstance(definition, ProviderDefinition):
        return definition.public()
    if isinstance(definition, Provider):
        return definition.definition()
    if isinstance(definition, Mapping):
        from authrelay_client.providers.diff import editable

        return editable(dict(definition))
    raise TypeError("definition must be a dict, a ProviderDefinition or a Provider")


def if_match(etag: str | None) -> dict[str, str]:
    if etag is None:
        return {}
    quoted = etag if etag == "*" or etag.startswith(('"', 'W/"')) else f'"{etag}"'
    return {"If-Match": quoted}


def create_provider(base: str, definition: Any) -> Op[Provider]:
    body = definition_body(definition)
    return Op(
        request(base, "POST", "/api/v1/custom-providers", json=body),
        model_of(Provider, "provider"),
    )


def update_provider(base: str, identifier: str, definition: Any, etag: str | None) -> Op[Provider]:
    from authrelay_client.providers.diff import whole_definition

    body = whole_definition(definition_body(definition))
    path = f"/api/v1/custom-providers/{segment(identifier)}"
    return Op(
        request(base, "PUT", path, json=body, headers=if_match(etag)),
        model_of(Provider, "provider"),
    )


def delete_provider(base: str, identifier: str, etag: str | None) -> Op[None]:
    path = f"/api/v1/custom-providers/{segment(identifier)}"
    return Op(request(base, "DELETE", path, headers=if_match(etag)), nothing)


# --- connections -------------------------------------------------------------------------


def create_connection(
    base: str,
    provider_key: str,
    key_id: str | None,
    type: str | int | None,
    oauth_config: ConnectionOAuthConfigInput | None,
    auth_mode: str | None,
    enabled: bool | None,
    static_config: JSONObject | None,
) -> Op[Connection]:
    body: ConnectionRequest = {"provider_key": provider_key}
    if key_id is not None:
        body["key_id"] = key_id
    if type is not None:
        body["type"] = type
    if oauth_config is not None:
        body["oauth_config"] = oauth_config
    if auth_mode is not None:
        body["auth_mode"] = auth_mode
    if enabled is not None:
        body["enabled"] = enabled
    if static_config is not None:
        body["static_config"] = static_config
    return Op(
        request(base, "POST", "/api/v1/connections", params={"flags.is_app": "true"}, json=body),
        model_of(Connection, "connection"),
    )


def connections_page(
    base: str, provider: str | None, query: str | None, page_size: int
) -> Callable[[str], Op[Page[Connection]]]:
    def page(token: str) -> Op[Page[Connection]]:
        params = {
            "page_size": page_size,
            "page_token": token or None,
            "provider": provider,
            "query": query,
        }

        def parse(response: httpx.Response) -> Page[Connection]:
            body = ListConnectionsResponse.model_validate(answer(response))
            return body.connections, body.next_page_token

        return Op(request(base, "GET", "/api/v1/connections/app", params=params), parse)

    return page


def get_connection(base: str, id_or_name: str) -> Op[Connection]:
    return Op(
        request(base, "GET", f"/api/v1/connections/{segment(id_or_name)}"),
        model_of(Connection, "connection"),
    )


def update_connection(base: str, id_or_name: str, fields: Mapping[str, object]) -> Op[Connection]:
    return Op(
        request(base, "PATCH", f"/api/v1/connections/{segment(id_or_name)}", json=fields),
        model_of(Connection, "connection"),
    )


def delete_connection(base: str, id_or_name: str, force: bool) -> Op[None]:
    params = {"force": "true"} if force else None
    path = f"/api/v1/connections/{segment(id_or_name)}"
    return Op(request(base, "DELETE", path, params=params), nothing)


def toggle_connection(base: str, id_or_name: str, enable: bool) -> Op[ToggleConnectionResponse]:
    verb = "enable" if enable else "disable"
    return Op(
        request(base, "PATCH", f"/api/v1/connections/{segment(id_or_name)}:{verb}"),
        model_of(ToggleConnectionResponse),
    )


# --- connected accounts ------------------------------------------------------------------


def accounts_page(
    base: str, filters: AccountFilters, page_size: int
) -> Callable[[str], Op[Page[ConnectedAccount]]]:
    def page(token: str) -> Op[Page[ConnectedAccount]]:
        params = {**filters, "page_size": page_size, "page_token": token or None}

        def parse(response: httpx.Response) -> Page[ConnectedAccount]:
            body = ListConnectedAccountsResponse.model_validate(answer(response))
            return body.connected_accounts, body.next_page_token

        return Op(request(base, "GET", "/api/v1/connected_accounts", params=params), parse)

    return page


def account_lookup(
    base: str,
    which: Literal["details", "auth"],
    connector: str | None,
    identifier: str | None,
    id: str | None,
) -> Op[ConnectedAccount]:
    params = {"connector": connector, "identifier": identifier, "id": id}
    return Op(
        request(base, "GET", f"/api/v1/connected_accounts/{which}", params=params),
        model_of(ConnectedAccount, "connected_account"),
    )


def account_body(
    connector: str | None,
    identifier: str | None,
    authorization_details: AuthorizationDetailsInput | None = None,
    api_config: JSONObject | None = None,
    *,
    id: str | None = None,
    organization_id: str | None = None,
    user_id: str | None = None,
    scope_selection: ScopeSelectionInput | None = None,
) -> ConnectedAccountRequest:
    """The body of create, update and delete, without the arguments left at None."""
    body: ConnectedAccountRequest = {}
    if connector is not None:
        body["connector"] = connector
    if identifier is not None:
        body["identifier"] = identifier
    if id is not None:
        body["id"] = id
    if organization_id is not None:
        body["organization_id"] = organization_id
    if user_id is not None:
        body["user_id"] = user_id
    if scope_selection is not None:
        body["scope_selection"] = scope_selection
    inner: AccountFieldsInput = {}
    if authorization_details is not None:
        inner["authorization_details"] = authorization_details
    if api_config is not None:
        inner["api_config"] = api_config
    if inner:
        body["connected_account"] = inner
    return body


def create_account(base: str, body: ConnectedAccountRequest) -> Op[ConnectedAccount]:
    return Op(
        request(base, "POST", "/api/v1/connected_accounts", json=body),
        model_of(ConnectedAccount, "connected_account"),
    )


def update_account(base: str, body: ConnectedAccountRequest) -> Op[ConnectedAccount]:
    return Op(
        request(base, "PUT", "/api/v1/connected_accounts", json=body),
        model_of(ConnectedAccount, "connected_account"),
    )


def delete_account(base: str, body: ConnectedAccountRequest) -> Op[None]:
    return Op(request(base, "POST", "/api/v1/connected_accounts:delete", json=body), nothing)


def disconnect_account(base: str, account_id: str) -> Op[ConnectedAccount]:
    path = f"/api/v1/connected_accounts/{segment(account_id)}:disconnect"
    return Op(request(base, "POST", path, json={}), model_of(ConnectedAccount, "connected_account"))


def authorization_link(
    base: str,
    connection_name: str,
    identifier: str,
    state: str | None,
    user_verify_url: str | None,
    api_config: dict[str, str] | None = None,
) -> Op[AuthorizationLink]:
    body: MagicLinkRequest = {"connector": connection_name, "identifier": identifier}
    if state is not None:
        body["state"] = state
    if user_verify_url is not None:
        body["user_verify_url"] = user_verify_url
    if api_config:
        body["api_config"] = api_config
    return Op(
        request(base, "POST", "/api/v1/connected_accounts/magic_link", json=body),
        model_of(AuthorizationLink),
    )
