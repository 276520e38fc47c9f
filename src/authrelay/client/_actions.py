"""`client.actions`: proxied calls to upstream APIs through authrelay's tool proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from authrelay.client._exceptions import ApiError, ProxyError

if TYPE_CHECKING:
    from authrelay.client._client import AsyncClient, Client

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
) -> dict[str, Any]:
    given = [
        name
        for name, value in (("body", body), ("form_data", form_data), ("raw_body", raw_body))
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(f"pass only one of body, form_data, raw_body (got {', '.join(given)})")
    all_headers = {**(headers or {}), "connection_name": connection_name, "identifier": identifier}
    request: dict[str, Any] = {
        "method": method.upper(),
        "url": f"{env_url}/proxy/{path.lstrip('/')}",
        "params": query_params,
        "headers": all_headers,
    }
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
    return ProxyError(response.status_code, body if isinstance(body, dict) else {})


def is_stale_token(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.headers.get(ERROR_HEADER) == "UNAUTHENTICATED"


def link_request(
    env_url: str,
    connection_name: str,
    identifier: str,
    state: str | None,
    user_verify_url: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"connector": connection_name, "identifier": identifier}
    if state is not None:
        body["state"] = state
    if user_verify_url is not None:
        body["user_verify_url"] = user_verify_url
    return {
        "method": "POST",
        "url": f"{env_url}/api/v1/connected_accounts/magic_link",
        "json": body,
        "headers": {},
    }


def api_answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if response.status_code >= 400 or not isinstance(body, dict):
        raise ApiError(response.status_code, body if isinstance(body, dict) else {})
    return body


class Actions:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get_authorization_link(
        self,
        connection_name: str,
        identifier: str,
        state: str | None = None,
        user_verify_url: str | None = None,
    ) -> dict[str, Any]:
        """A single-use authorization link for the user: `{"link", "expiry"}`. The connected
        account is created (PENDING_AUTH) when it does not exist yet."""
        request = link_request(
            self._client.env_url, connection_name, identifier, state, user_verify_url
        )
        return api_answer(self._client._send(request, None))

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
        response = self._client._send(request, timeout)
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
    ) -> dict[str, Any]:
        """The async form of `Actions.get_authorization_link`."""
        request = link_request(
            self._client.env_url, connection_name, identifier, state, user_verify_url
        )
        return api_answer(await self._client._send(request, None))

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
        response = await self._client._send(request, timeout)
        error = own_error(response)
        if error is not None:
            raise error
        return response
