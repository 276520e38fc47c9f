"""`client.actions`: proxied calls to upstream APIs through authrelay's tool proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from authrelay.client._exceptions import ProxyError

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


class Actions:
    def __init__(self, client: Client) -> None:
        self._client = client

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
