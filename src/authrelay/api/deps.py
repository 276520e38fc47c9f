"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from authrelay import http_headers
from authrelay.auth.principal import Principal
from authrelay.errors import Unauthenticated
from authrelay.proxy.resolve import cached_environment
from authrelay.runtime import Runtime
from authrelay.store import AsyncSession


async def get_runtime(request: Request) -> Runtime:
    # async: a plain `def` dependency would run in a worker thread on every request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session)]


def bearer_token(request: Request) -> str:
    token = http_headers.bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthenticated(
            "missing API token: send Authorization: Bearer <token> from POST /oauth/token"
        )
    return token


def request_host(request: Request) -> str:
    """The host of the request's `Host` header, as every surface reads it."""
    return http_headers.parse_host(request.headers.get("host", ""))[0]


async def get_cached_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The API token checked as `/proxy` checks it: the signature, then the API client and
    host binding from the per-process cache, after the cache generation was read (so a
    client deleted on another replica is seen at once). No database session."""
    await runtime.fresh_generation()
    token = bearer_token(request)
    env_id = await cached_environment(runtime, token, request_host(request))
    return Principal(env_id, runtime.tokens.verify(token).client_id)


CachedPrincipal = Annotated[Principal, Depends(get_cached_principal)]


# Every API route checks its token this way: a database transaction per request would, on
# SQLite, queue every API call (reads included) behind the one write lock.
CurrentPrincipal = CachedPrincipal
