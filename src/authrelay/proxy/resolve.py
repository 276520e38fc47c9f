"""From an API token and (environment, connection name, identifier) to the upstream target,
for `/proxy` and for tools alike: the token's environment, the cached route, and the route
anew once the OAuth refresher has renewed its token. Per-process caches (`ProxyCache`)
spare the database on the hot path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authrelay.errors import AuthrelayError, Unauthenticated
from authrelay.proxy.routes import Route, load_route
from authrelay.store.environments import bound_hosts, get_client

if TYPE_CHECKING:
    from authrelay.proxy.parts import ProxyParts

# (environment id, connection name, identifier): what names a route.
RouteKey = tuple[str, str, str]


def environment_if_cached(runtime: ProxyParts, token: str, host: str) -> str | None:
    """The API token's environment when the API client and the host bindings are cached
    (checked as `cached_environment` checks them), else None. No coroutine: the hot path
    awaits `cached_environment` only on a miss."""
    claims = runtime.tokens.verify(token)
    cache = runtime.proxy_cache
    hosts = cache.hosts
    client_env = cache.clients.get(claims.client_id)
    if hosts is None or client_env is None:
        return None
    return _checked(hosts, client_env, claims.environment_id, host)


async def cached_environment(runtime: ProxyParts, token: str, host: str) -> str:
    """The API token's environment: the signature, then the API client and the host binding
    from the per-process cache (no database round trip once they are cached)."""
    claims = runtime.tokens.verify(token)
    cache = runtime.proxy_cache
    # Local names throughout: the cache may be cleared by another task at any await.
    hosts = cache.hosts
    if hosts is None:
        hosts = await cache.load_once(("hosts",), lambda: _read_hosts(runtime))
        cache.hosts = hosts
    client_env = cache.clients.get(claims.client_id)
    if client_env is None:
        read_at = cache.clients.clears
        client_env = await cache.load_once(
            ("client", claims.client_id), lambda: _read_client_env(runtime, claims.client_id)
        )
        cache.clients.put(claims.client_id, client_env, read_at)
    return _checked(hosts, client_env, claims.environment_id, host)


def _checked(hosts: dict[str, str | None], client_env: str, env_id: str, host: str) -> str:
    """`env_id` once the host is not bound to another environment and the token's API
    client still exists in it."""
    bound = hosts.get(host)
    if bound is not None and bound != env_id:
        raise Unauthenticated("the access token belongs to another environment")
    if client_env != env_id:
        raise Unauthenticated("the API client of this access token no longer exists")
    return env_id


async def cached_route(runtime: ProxyParts, key: RouteKey) -> Route:
    """The route `key` names, from the cache or loaded (and cached, errors as data too)."""
    route = runtime.proxy_cache.cached_route(key)  # raises a cached error answer anew
    return route if route is not None else await loaded_route(runtime, key)


async def loaded_route(runtime: ProxyParts, key: RouteKey) -> Route:
    """The route `key` names, read from the database and cached (an error answer too, as
    data). The hot path calls this on a cache miss only: a hit costs no coroutine."""
    cache = runtime.proxy_cache
    read_at = cache.routes.clears
    try:
        route = await load_route(
            runtime.targets,
            runtime.keyring,
            runtime.catalog,
            runtime.settings.allowlist,
            *key,
            providers=runtime.provider_cache,
        )
    except AuthrelayError as exc:
        cache.remember_route(key, exc, read_at)  # as data, never as the exception
        raise
    cache.remember_route(key, route, read_at)
    return route


async def renewed_route(
    runtime: ProxyParts, route: Route, key: RouteKey, *, rejected: bool = False
) -> Route:
    """The route with a usable token, after `route`'s was about to expire or was rejected
    by the upstream (`rejected`): the refresher renews it (one renewal per account across
    tasks and processes) and answers with its version; the route that carries it is then
    this process's cached one when another task already loaded it, else loaded anew."""
    renewed = await runtime.refresher.renew(
        route.account_id,
        route.token_version,
        exchange=route.pattern.type == "TOKEN_EXCHANGE",
        rejected=rejected,
    )
    cache = runtime.proxy_cache
    cached = cache.cached_route(key)
    if isinstance(cached, Route) and cached.token_version >= renewed.version:
        return cached
    async with runtime.sessions() as session:  # the sessions the renewal wrote through
        fresh = await load_route(
            session, runtime.keyring, runtime.catalog, runtime.settings.allowlist, *key
        )
    cache.remember_route(key, fresh)
    return fresh


async def _read_hosts(runtime: ProxyParts) -> dict[str, str | None]:
    async with runtime.read_sessions() as session:
        return dict(await bound_hosts(session))


async def _read_client_env(runtime: ProxyParts, client_id: str) -> str:
    async with runtime.read_sessions() as session:
        client = await get_client(session, client_id)
    return client.environment_id if client else ""  # "": the client is gone
