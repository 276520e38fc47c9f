"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.auth.principal import Principal
from authrelay.errors import Unauthenticated
from authrelay.proxy.call import cached_environment
from authrelay.runtime import Runtime
from authrelay.store.environments import environment_by_host, get_client


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
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "missing API token: send Authorization: Bearer <token> from POST /oauth/token"
        )
    return token.strip()


def request_host(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower()


async def get_principal(request: Request, runtime: RuntimeDep, session: DbSession) -> Principal:
    claims = runtime.tokens.verify(bearer_token(request))
    bound = await environment_by_host(session, request_host(request))
    if bound is not None and bound.id != claims.environment_id:
        raise Unauthenticated("the access token belongs to another environment")
    client = await get_client(session, claims.client_id)
    if client is None or client.environment_id != claims.environment_id:
        raise Unauthenticated("the API client of this access token no longer exists")
    # End the read transaction: services start their own work on this session.
    await session.rollback()
    return Principal(claims.environment_id, claims.client_id)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_cached_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The API token checked as `/proxy` checks it: the signature, then the API client and
    host binding from the per-process cache, after the cache generation was read (so a
    client deleted on another replica is seen at once). No database session: for read
    routes on an agent's hot path (the tool lists)."""
    await runtime.fresh_generation()
    token = bearer_token(request)
    env_id = await cached_environment(runtime, token, request_host(request))
    return Principal(env_id, runtime.tokens.verify(token).client_id)


CachedPrincipal = Annotated[Principal, Depends(get_cached_principal)]
