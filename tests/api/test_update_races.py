"""An update racing a delete of the same row answers 404 (or 409), never 500.

Each resource type that can be updated: fresh rows, then for each row an update and a
delete sent at the same moment, all pairs at once. Whichever commits first, the other
must get a proper answer on a connection that stays usable (a 500 from a `StaleDataError`
at the flush dropped the keep-alive connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.resources import api_key_provider, create_connection, create_provider
from tests.support.servers import Server
from tests.support.tools import tool_body

PAIRS = 30
FINE = {200, 204, 404, 409}

#: one request: (method, path, query, JSON body or None)
Request = tuple[str, str, dict[str, str], Any]
Pairs = list[tuple[Request, Request]]


async def _race(server: Server, token: str, pairs: Pairs) -> list[tuple[int, str, str]]:
    """Every update and delete sent at once (a client per pair), then each client asks once
    more: (status, request, the answer's `Connection` header and body) of each."""
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) for _ in pairs]
    try:
        start = asyncio.Event()

        async def send(client: httpx.AsyncClient, request: Request) -> tuple[int, str, str]:
            method, path, params, body = request
            await start.wait()
            response = await client.request(method, path, params=params, json=body)
            closing = response.headers.get("connection", "")
            return response.status_code, f"{method} {path}", f"{closing} {response.text[:200]}"

        tasks = [
            asyncio.ensure_future(send(client, request))
            for client, pair in zip(clients, pairs, strict=True)
            for request in pair
        ]
        await asyncio.sleep(0)
        start.set()
        statuses = list(await asyncio.gather(*tasks))
        after = await asyncio.gather(*(client.get("/healthz") for client in clients))
        assert {r.status_code for r in after} == {200}
        return statuses
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def _check(server: Server, token: str, pairs: Pairs) -> None:
    answers = asyncio.run(_race(server, token, pairs))
    # each answered properly, and on a connection kept open
    wrong = [a for a in answers if a[0] not in FINE or a[2].startswith("close")]
    assert not wrong, f"{len(wrong)} of {len(answers)}: {wrong[:5]}"


def _pairs(
    ids: list[str], update: Callable[[str], Request], delete: Callable[[str], Request]
) -> Pairs:
    return [(update(i), delete(i)) for i in ids]


def _connections(api: httpx.Client, unique: str) -> Pairs:
    """PATCH, and the :disable shorthand, against DELETE ?force=true."""
    provider = create_provider(api, api_key_provider(f"Race {unique}"))
    made = [
        create_connection(api, {"provider_key": provider, "key_id": f"race-{unique}-{i}"})
        for i in range(PAIRS)
    ]
    return [
        (
            ("PATCH", f"/api/v1/connections/{c['id']}", {}, {"enabled": False})
            if n % 2
            else ("PATCH", f"/api/v1/connections/{c['id']}:disable", {}, None),
            ("DELETE", f"/api/v1/connections/{c['id']}", {"force": "true"}, None),
        )
        for n, c in enumerate(made)
    ]


def _accounts(api: httpx.Client, unique: str) -> Pairs:
    provider = create_provider(api, api_key_provider(f"Race {unique}"))
    conn = f"race-{unique}-accounts"
    create_connection(api, {"provider_key": provider, "key_id": conn})
    accounts = []
    for i in range(PAIRS):
        created = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": conn,
                "identifier": f"user-{i}",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": {"api_key": "k"}}}
                },
            },
        )
        assert created.status_code == 201, created.text
        accounts.append(created.json()["connected_account"]["id"])
    return _pairs(
        accounts,
        lambda a: ("PUT", "/api/v1/connected_accounts", {}, {"id": a, "user_id": "u-1"}),
        lambda a: ("POST", "/api/v1/connected_accounts:delete", {}, {"id": a}),
    )


def _tools(api: httpx.Client, unique: str) -> Pairs:
    provider = create_provider(api, api_key_provider(f"Race {unique}"))
    tools = [f"race_{unique}_{i}" for i in range(PAIRS)]
    for name in tools:
        created = api.post("/api/v1/tools", json=tool_body(provider, name))
        assert created.status_code == 201, created.text
    return _pairs(
        tools,
        lambda t: ("PUT", f"/api/v1/tools/{t}", {}, tool_body(provider, t, description="New")),
        lambda t: ("DELETE", f"/api/v1/tools/{t}", {}, None),
    )


def _mcp_configs(api: httpx.Client, unique: str) -> Pairs:
    provider = create_provider(api, api_key_provider(f"Race {unique}"))
    conn = f"race-{unique}-mcp"
    create_connection(api, {"provider_key": provider, "key_id": conn})
    names: dict[str, str] = {}  # id -> name (PUT keeps the name)
    for i in range(PAIRS):
        created = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": f"race-{unique}-{i}",
                "connection_tool_mappings": [{"connection_name": conn}],
            },
        )
        assert created.status_code == 201, created.text
        names[created.json()["config"]["id"]] = f"race-{unique}-{i}"
    return _pairs(
        list(names),
        lambda c: (
            "PUT",
            f"/api/v1/mcp/configs/{c}",
            {},
            {
                "name": names[c],
                "description": "replaced",
                "connection_tool_mappings": [{"connection_name": conn}],
            },
        ),
        lambda c: ("DELETE", f"/api/v1/mcp/configs/{c}", {}, None),
    )


def _providers(api: httpx.Client, unique: str) -> Pairs:
    definitions = {}
    for i in range(PAIRS):
        definition = api_key_provider(f"Race {unique} p{i}")
        definitions[create_provider(api, definition)] = definition
    return _pairs(
        list(definitions),
        lambda p: (
            "PUT",
            f"/api/v1/custom-providers/{p}",
            {},
            {**definitions[p], "proxy_url": "https://api.example.com/v2"},
        ),
        lambda p: ("DELETE", f"/api/v1/custom-providers/{p}", {}, None),
    )


@pytest.mark.parametrize(
    "make", [_connections, _accounts, _tools, _mcp_configs, _providers], ids=lambda f: f.__name__
)
def test_an_update_racing_a_delete_answers_not_found(
    make: Callable[[httpx.Client, str], Pairs],
    server: Server,
    dev_client: dict[str, str],
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        pairs = make(api, unique)
    _check(server, server.token(dev_client), pairs)
