"""`Client` and `AsyncClient`: one pooled httpx client each, with token renewal."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import httpx

from authrelay_client._actions import Actions, AsyncActions, is_stale_token
from authrelay_client._auth import Credentials, TokenState
from authrelay_client._exceptions import ConfigurationError
from authrelay_client._mcp import AsyncMcp, Mcp
from authrelay_client._ops import HttpRequest, Op, Page
from authrelay_client._resources import (
    AsyncConnectedAccounts,
    AsyncConnections,
    AsyncProviders,
    ConnectedAccounts,
    Connections,
    Providers,
)
from authrelay_client._tools import AsyncTools, Tools
from authrelay_client._transport import FAILURES, wrap

T = TypeVar("T")
MAX_PAGES = 100_000  # a server that keeps handing out new tokens is a bug, not a loop

DEFAULT_TIMEOUT = 60.0


def default_timeout(timeout: float | None) -> float:
    """The given timeout, else AUTHRELAY_CLIENT_TIMEOUT (seconds), else 60."""
    if timeout is not None:
        return timeout
    raw = os.environ.get("AUTHRELAY_CLIENT_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ConfigurationError(f"AUTHRELAY_CLIENT_TIMEOUT={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigurationError("AUTHRELAY_CLIENT_TIMEOUT must be above 0")
    return value


class Client:
    """Synchronous client: `Client(env_url, client_id, client_secret)`.

    Missing arguments come from AUTHRELAY_ENVIRONMENT_URL / _CLIENT_ID / _CLIENT_SECRET or
    Scalekit's SCALEKIT_* variables.
    """

    def __init__(
        self,
        env_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        timeout: float | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._auth = TokenState(Credentials.resolve(env_url, client_id, client_secret))
        self._http = http or httpx.Client(timeout=default_timeout(timeout))
        self.actions = Actions(self)
        self.providers = Providers(self)
        self.connections = Connections(self)
        self.connected_accounts = ConnectedAccounts(self)
        self.tools = Tools(self)
        self.mcp = Mcp(self)

    @property
    def env_url(self) -> str:
        return self._auth.credentials.env_url

    def _token(self) -> str:
        if self._auth.needs_renewal():
            request = self._auth.request()
            try:
                answer = self._http.post(request["url"], data=request["data"])
            except FAILURES as exc:
                raise wrap(exc, request["url"]) from exc
            self._auth.accept(answer)
        assert self._auth.token is not None
        return self._auth.token

    def _send(
        self, request: HttpRequest, timeout: float | None, *, api: bool = True
    ) -> httpx.Response:
        for attempt in (1, 2):
            headers = {**request["headers"], "Authorization": f"Bearer {self._token()}"}
            limit = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
            try:
                response = self._http.request(
                    request["method"],
                    request["url"],
                    headers=headers,
                    params=request.get("params"),
                    json=request.get("json"),
                    data=request.get("data"),
                    content=request.get("content"),
                    timeout=limit,
                )
            except FAILURES as exc:
                raise wrap(exc, request["url"]) from exc
            if attempt == 1 and is_stale_token(response, api):
                self._auth.forget()  # renewed on the next round
                continue
            return response
        return response

    def _run(self, op: Op[T]) -> T:
        return op.parse(self._send(op.request, None))

    def _collect(self, page: Callable[[str], Op[Page[T]]]) -> list[T]:
        items: list[T] = []
        token, seen = "", set()
        for _ in range(MAX_PAGES):
            got, token = self._run(page(token))
            items.extend(got)
            if not token or token in seen:
                break
            seen.add(token)
        return items

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncClient:
    """Asynchronous client with the same surface as `Client`."""

    def __init__(
        self,
        env_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        timeout: float | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._auth = TokenState(Credentials.resolve(env_url, client_id, client_secret))
        self._http = http or httpx.AsyncClient(timeout=default_timeout(timeout))
        self.actions = AsyncActions(self)
        self.providers = AsyncProviders(self)
        self.connections = AsyncConnections(self)
        self.connected_accounts = AsyncConnectedAccounts(self)
        self.tools = AsyncTools(self)
        self.mcp = AsyncMcp(self)

    @property
    def env_url(self) -> str:
        return self._auth.credentials.env_url

    async def _token(self) -> str:
        if self._auth.needs_renewal():
            request = self._auth.request()
            try:
                answer = await self._http.post(request["url"], data=request["data"])
            except FAILURES as exc:
                raise wrap(exc, request["url"]) from exc
            self._auth.accept(answer)
        assert self._auth.token is not None
        return self._auth.token

    async def _send(
        self,
        request: HttpRequest,
        timeout: float | None,  # noqa: ASYNC109 - the SDK's documented parameter
        *,
        api: bool = True,
    ) -> httpx.Response:
        for attempt in (1, 2):
            headers = {**request["headers"], "Authorization": f"Bearer {await self._token()}"}
            limit = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
            try:
                response = await self._http.request(
                    request["method"],
                    request["url"],
                    headers=headers,
                    params=request.get("params"),
                    json=request.get("json"),
                    data=request.get("data"),
                    content=request.get("content"),
                    timeout=limit,
                )
            except FAILURES as exc:
                raise wrap(exc, request["url"]) from exc
            if attempt == 1 and is_stale_token(response, api):
                self._auth.forget()
                continue
            return response
        return response

    async def _run(self, op: Op[T]) -> T:
        return op.parse(await self._send(op.request, None))

    async def _collect(self, page: Callable[[str], Op[Page[T]]]) -> list[T]:
        items: list[T] = []
        token, seen = "", set()
        for _ in range(MAX_PAGES):
            got, token = await self._run(page(token))
            items.extend(got)
            if not token or token in seen:
                break
            seen.add(token)
        return items

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
