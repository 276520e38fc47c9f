"""`client.actions`: proxied calls to upstream APIs through authrelay's tool proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from authrelay_client import _ops as ops
from authrelay_client import _tools as tool_ops
from authrelay_client._exceptions import AlreadyExistsError, NotFoundError, ProxyError, api_error
from authrelay_client.models import AuthorizationLink, ConnectedAccount, ExecuteToolResponse
from authrelay_client.wire import AuthorizationDetailsInput, JSONObject

if TYPE_CHECKING:
    from authrelay_client._client import AsyncClient, Client

ERROR_HEADER = "x-authrelay-error"


def build_request(
    env_url: str,
    connection_name: str,
    identifier: str,
    path: str,
    method: str,
    query_params: dict[str, Any] | None,
    body: Any,
    form_data: dict[str, Any] | None,
    raw_body: bytes | str | None,
    headers: dict[str, str] | None,
) -> ops.HttpRequest:
    given = [
        name
        for name, value in (("body", body), ("form_data", form_data), ("raw_body", raw_body))
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(f"pass only one of body, form_data, raw_body (got {', '.join(given)})")
    all_headers = {**(headers or {}), "connection_name": connection_name, "identifier": identifier}
    request: ops.HttpRequest = {
        "method": method.upper(),
        "url": f"{env_url}/proxy/{path.lstrip('/')}",
        "headers": all_headers,
    }
    if query_params is not None:
        request["params"] = httpx.QueryParams(query_params)
    if body is not None:
        request["json"] = body
    elif form_data is not None:
        request["data"] = form_data
    elif raw_body is not None:
        request["content"] = raw_body
    return request


def own_error(response: httpx.Response) -> ProxyError | None:
    if ERROR_HEADER not in response.headers:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    error = api_error(response.status_code, body if isinstance(body, dict) else {}, proxy=True)
    assert isinstance(error, ProxyError)
    return error


def is_stale_token(response: httpx.Response, api: bool) -> bool:
    """A 401 of authrelay's: any 401 on an API call; on a proxied call only one marked as
    authrelay's own (an upstream's 401 is the caller's answer)."""
    if response.status_code != httpx.codes.UNAUTHORIZED:
        return False
    return api or response.headers.get(ERROR_HEADER) == "UNAUTHENTICATED"


class Actions:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get_authorization_link(
        self,
        connection_name: str,
        identifier: str,
        state: str | None = None,
        user_verify_url: str | None = None,
        *,
        api_config: dict[str, str] | None = None,
    ) -> AuthorizationLink:
        """A single-use authorization link for the user: `.link`, `.expiry` (also
        `link["link"]`). The connected account is created (PENDING_AUTH) when absent.
        `api_config`: account fields the provider's OAuth URLs use (a tenant in the host,
        say), saved on the account when the authorization succeeds."""
        return self._client._run(
            ops.authorization_link(
                self._client.env_url,
                connection_name,
                identifier,
                state,
                user_verify_url,
                api_config,
            )
        )

    def get_connected_account(self, connection_name: str, identifier: str) -> ConnectedAccount:
        """The account's details (no credential values); `NotFoundError` when absent."""
        return self._client.connected_accounts.get(connection_name, identifier)

    def get_or_create_connected_account(
        self,
        connection_name: str,
        identifier: str,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
    ) -> ConnectedAccount:
        """The existing account, else a new one: for OAuth connections without
        `authorization_details` it is `PENDING_AUTH` (send the user an authorization link);
        static connections (API key, basic, bearer) need `authorization_details`."""
        accounts = self._client.connected_accounts
        try:
            return accounts.get(connection_name, identifier)
        except NotFoundError:
            pass
        try:
            return accounts.create(connection_name, identifier, authorization_details, api_config)
        except AlreadyExistsError:  # created concurrently
            return accounts.get(connection_name, identifier)

    def execute_tool(
        self,
        tool_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        identifier: str | None = None,
        connector: str | None = None,
        connected_account_id: str | None = None,
        agent_run_id: str | None = None,
    ) -> ExecuteToolResponse:
        """Run a tool for one end user (`identifier`, optionally with the `connector`
        connection name, or `connected_account_id`): `.data`, `.execution_id`."""
        return self._client._run(
            tool_ops.execute_tool(
                self._client.env_url,
                tool_name,
                params,
                identifier=identifier,
                connector=connector,
                connected_account_id=connected_account_id,
                agent_run_id=agent_run_id,
            )
        )

    def request(
        self,
        connection_name: str,
        identifier: str,
        path: str,
        method: str = "GET",
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        form_data: dict[str, Any] | None = None,
        raw_body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Call the upstream API as `identifier` through connection `connection_name`.

        Returns the upstream's response as it is (4xx and 5xx included); raises ProxyError
        when authrelay itself refuses the call (unknown connection, inactive account, …).
        """
        request = build_request(
            self._client.env_url,
            connection_name,
            identifier,
            path,
            method,
            query_params,
            body,
            form_data,
            raw_body,
            headers,
        )
        response = self._client._send(request, timeout, api=False)
        error = own_error(response)
        if error is not None:
            raise error
        return response


class AsyncActions:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get_authorization_link(
        self,
        connection_name: str,
        identifier: str,
        state: str | None = None,
        user_verify_url: str | None = None,
        *,
        api_config: dict[str, str] | None = None,
    ) -> AuthorizationLink:
        """The async form of `Actions.get_authorization_link`."""
        return await self._client._run(
            ops.authorization_link(
                self._client.env_url,
                connection_name,
                identifier,
                state,
                user_verify_url,
                api_config,
            )
        )

    async def get_connected_account(
        self, connection_name: str, identifier: str
    ) -> ConnectedAccount:
        """The async form of `Actions.get_connected_account`."""
        return await self._client.connected_accounts.get(connection_name, identifier)

    async def get_or_create_connected_account(
        self,
        connection_name: str,
        identifier: str,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
    ) -> ConnectedAccount:
        """The async form of `Actions.get_or_create_connected_account`."""
        accounts = self._client.connected_accounts
        try:
            return await accounts.get(connection_name, identifier)
        except NotFoundError:
            pass
        try:
            return await accounts.create(
                connection_name, identifier, authorization_details, api_config
            )
        except AlreadyExistsError:
            return await accounts.get(connection_name, identifier)

    async def execute_tool(
        self,
        tool_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        identifier: str | None = None,
        connector: str | None = None,
        connected_account_id: str | None = None,
        agent_run_id: str | None = None,
    ) -> ExecuteToolResponse:
        """Run a tool for one end user (`identifier`, optionally with the `connector`
        connection name, or `connected_account_id`): `.data`, `.execution_id`."""
        return await self._client._run(
            tool_ops.execute_tool(
                self._client.env_url,
                tool_name,
                params,
                identifier=identifier,
                connector=connector,
                connected_account_id=connected_account_id,
                agent_run_id=agent_run_id,
            )
        )

    async def request(
        self,
        connection_name: str,
        identifier: str,
        path: str,
        method: str = "GET",
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        form_data: dict[str, Any] | None = None,
        raw_body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's documented parameter
    ) -> httpx.Response:
        """The async form of `Actions.request`."""
        request = build_request(
            self._client.env_url,
            connection_name,
            identifier,
            path,
            method,
            query_params,
            body,
            form_data,
            raw_body,
            headers,
        )
        response = await self._client._send(request, timeout, api=False)
        error = own_error(response)
        if error is not None:
            raise error
        return response
