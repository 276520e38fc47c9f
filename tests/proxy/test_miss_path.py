"""A route-cache miss: one query per lookup, parsed provider definitions shared by all the
accounts of a provider, error answers cached as data. Run in-process against the data of the
real server (its database, SQLite or PostgreSQL), through the proxy's own lookup."""

from __future__ import annotations

import asyncio

import pytest

from authrelay.config import Settings
from authrelay.errors import NotFound
from authrelay.proxy.app import ProxyApp
from authrelay.proxy.cache import Negative
from authrelay.proxy.routes import Route
from authrelay.runtime import create_runtime
from authrelay.store.environments import get_environment
from tests.proxy.helpers import enable
from tests.support.servers import ALLOWLIST, Server
from tests.support.upstream import RecordingUpstream, provider_definition


async def _lookups(server: Server, connection: str, identifiers: list[str]) -> dict[str, object]:
    backend = server.backend
    settings = Settings(
        data_dir=backend.data_dir,
        database_url=backend.database_url,
        upstream_allowlist=ALLOWLIST,
        master_keys=server.extra_env.get("AUTHRELAY_MASTER_KEYS"),
    )
    runtime = await create_runtime(settings)
    try:
        async with runtime.sessions() as session:
            env = await get_environment(session, "dev")
        assert env is not None
        proxy = ProxyApp()
        routes = [await proxy._route(runtime, env.id, connection, i) for i in identifiers]
        errors = []
        for _ in range(2):
            with pytest.raises(NotFound) as caught:
                await proxy._route(runtime, env.id, connection, "nobody-here")
            errors.append(caught.value)
        with pytest.raises(NotFound):
            await proxy._route(runtime, env.id, "no-such-connection", identifiers[0])
        return {
            "routes": routes,
            "errors": errors,
            "providers": len(runtime.provider_cache),
            "cached": len(runtime.proxy_cache.routes),
            "errors_cached": len(runtime.proxy_cache.negatives),
            "negative": runtime.proxy_cache.negatives.get((env.id, connection, "nobody-here")),
        }
    finally:
        await runtime.close()


def test_misses_share_the_parsed_provider_and_cache_errors_as_data(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    connection = f"miss-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Miss Path {unique}", upstream),
            connection,
            "first",
            {"api_key": "key-first"},
        )
        for name in ("second", "third"):
            response = api.post(
                "/api/v1/connected_accounts",
                json={
                    "connector": connection,
                    "identifier": name,
                    "connected_account": {
                        "authorization_details": {
                            "static_auth": {"details": {"api_key": f"key-{name}"}}
                        }
                    },
                },
            )
            assert response.status_code == 201, response.text
    found = asyncio.run(_lookups(server, connection, ["first", "second", "third"]))
    routes = found["routes"]
    assert isinstance(routes, list) and all(isinstance(r, Route) for r in routes)
    assert [r.header_value for r in routes] == ["key-first", "key-second", "key-third"]
    assert len({r.account_id for r in routes}) == 3
    # One parsed definition serves all three accounts.
    assert routes[0].pattern is routes[1].pattern is routes[2].pattern
    assert found["providers"] == 1
    # Three routes and two error answers (unknown identifier, unknown connection) cached;
    # the unknown identifier as data, raised as a new exception each time.
    assert found["cached"] == 3 and found["errors_cached"] == 2
    assert isinstance(found["negative"], Negative)
    errors = found["errors"]
    assert isinstance(errors, list) and errors[0] is not errors[1]
    assert "nobody-here" in errors[0].message
