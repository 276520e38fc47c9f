"""A route-cache miss: one query per lookup, parsed provider definitions shared by all the
accounts of a provider, error answers cached as data. Run in-process against the data of the
real server (its database, SQLite or PostgreSQL), through the proxy's own lookup."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from authrelay.config import Settings
from authrelay.errors import NotFound
from authrelay.proxy.cache import Negative
from authrelay.proxy.resolve import cached_environment, cached_route
from authrelay.proxy.routes import Route
from authrelay.runtime import create_runtime
from authrelay.store.environments import get_environment
from tests.support.proxy import enable
from tests.support.resources import create_account, static
from tests.support.servers import ALLOWLIST, Server
from tests.support.upstream import RecordingUpstream, provider_definition


async def _lookups(server: Server, connection: str, identifiers: list[str]) -> dict[str, object]:
    runtime = await create_runtime(_settings(server))
    try:
        async with runtime.sessions() as session:
            env = await get_environment(session, "dev")
        assert env is not None
        routes = [await cached_route(runtime, (env.id, connection, i)) for i in identifiers]
        errors = []
        for _ in range(2):
            with pytest.raises(NotFound) as caught:
                await cached_route(runtime, (env.id, connection, "nobody-here"))
            errors.append(caught.value)
        with pytest.raises(NotFound):
            await cached_route(runtime, (env.id, "no-such-connection", identifiers[0]))
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
            create_account(api, connection, name, static(api_key=f"key-{name}"))
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


def _settings(server: Server) -> Settings:
    return Settings(
        data_dir=server.backend.data_dir,
        database_url=server.backend.database_url,
        upstream_allowlist=ALLOWLIST,
        master_keys=server.extra_env.get("AUTHRELAY_MASTER_KEYS"),
    )


def test_lookups_asked_together_answer_each_caller(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    """Concurrent misses (on PostgreSQL sent as one statement) give every caller its own
    answer: known accounts of two connections, an unknown identifier, an unknown connection."""
    first, second = f"batch-a-{unique}", f"batch-b-{unique}"
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Batch A {unique}", upstream),
            first,
            "u0",
            {"api_key": "key-u0"},
        )
        enable(
            api,
            provider_definition(f"Batch B {unique}", upstream),
            second,
            "v0",
            {"api_key": "key-v0"},
        )
        for n in range(1, 6):
            create_account(api, first, f"u{n}", static(api_key=f"key-u{n}"))

    asks = [(first, f"u{n}") for n in range(6)] + [
        (second, "v0"),
        (first, "v0"),  # an identifier of the other connection
        (first, "nobody"),
        ("no-such-connection", "u1"),
        (second, "u1"),
    ]

    async def run() -> tuple[list[object], list[object], int]:
        runtime = await create_runtime(_settings(server))
        try:
            async with runtime.sessions() as session:
                env = await get_environment(session, "dev")
            assert env is not None
            reader = runtime.targets
            alone = [await reader.target(env.id, c, i) for c, i in asks]
            before = getattr(reader, "statements", 0)
            together = await asyncio.gather(*(reader.target(env.id, c, i) for c, i in asks))
            return alone, list(together), getattr(reader, "statements", 0) - before
        finally:
            await runtime.close()

    alone, together, statements = asyncio.run(run())
    assert together == alone
    accounts = [t.account_id if t is not None else "no connection" for t in together]  # type: ignore[attr-defined]
    assert all(a is not None for a in accounts[:7]) and len(set(accounts[:7])) == 7
    assert accounts[7:] == [None, None, "no connection", None]
    if server.backend.name == "postgres":
        assert statements == 1  # eleven lookups asked in one round: one statement


def test_last_used_flush_writes_every_account_and_never_moves_back(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from authrelay.store import accounts as account_store
    from authrelay.store.models import ConnectedAccount, Connection

    connection = f"used-{unique}"
    with server.api(dev_client) as api:
        enable(
            api, provider_definition(f"Used {unique}", upstream), connection, "w0", {"api_key": "k"}
        )
        for n in range(1, 5):
            create_account(api, connection, f"w{n}", static(api_key=f"key-w{n}"))
    monkeypatch.setattr(account_store, "TOUCH_CHUNK", 2)  # five accounts: three statements
    t0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)

    async def run() -> list[dict[str, datetime | None]]:
        runtime = await create_runtime(_settings(server))
        seen = []
        try:
            async with runtime.sessions() as session:
                rows = await session.execute(
                    select(ConnectedAccount.id, ConnectedAccount.identifier)
                    .join(Connection, Connection.id == ConnectedAccount.connection_id)
                    .where(Connection.name == connection)
                )
                ids = {identifier: account_id for account_id, identifier in rows}
            assert len(ids) == 5

            async def read() -> dict[str, datetime | None]:
                async with runtime.sessions() as session:
                    rows = await session.execute(
                        select(ConnectedAccount.identifier, ConnectedAccount.last_used_at).where(
                            ConnectedAccount.id.in_(list(ids.values()))
                        )
                    )
                    return {
                        i: (w.replace(tzinfo=UTC) if w is not None and w.tzinfo is None else w)
                        for i, w in rows
                    }

            async def touch(used: dict[str, datetime]) -> None:
                async with runtime.sessions() as session:
                    await account_store.touch_last_used(
                        session, {ids[k]: v for k, v in used.items()}
                    )
                    await session.commit()

            await touch({f"w{n}": t0 + timedelta(seconds=n) for n in range(5)})
            seen.append(await read())
            # Older values never replace newer ones; newer ones do.
            await touch({"w0": t0 - timedelta(days=1), "w1": t0 + timedelta(hours=1)})
            seen.append(await read())
            # The proxy's own bookkeeping keeps only the last batch it wrote, not every
            # account it ever used.
            used = runtime.last_used
            used.mark(ids["w2"])
            used.mark(ids["w3"])
            await used.flush(runtime.sessions)
            marked = dict(used.flushed)
            used.mark(ids["w4"])
            await used.flush(runtime.sessions)
            marked.update(used.flushed)
            assert list(used.flushed) == [ids["w4"]] and not used.pending
            assert used.get(ids["w4"]) is not None and used.get(ids["w2"]) is None
            seen.append(await read())
            # What the flushes wrote is the time each account was marked.
            seen.append(
                {
                    name: datetime.fromtimestamp(marked[ids[name]], UTC)
                    for name in ("w2", "w3", "w4")
                }
            )
        finally:
            await runtime.close()
        return seen

    first, second, third, marked = asyncio.run(run())
    assert first == {f"w{n}": t0 + timedelta(seconds=n) for n in range(5)}
    assert second == {**first, "w1": t0 + timedelta(hours=1)}
    for name in ("w2", "w3", "w4"):  # written by the flushes, in the database
        assert third[name] == marked[name]


def test_concurrent_last_used_flushes_of_the_same_accounts_both_land(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers flushing the same accounts at once, in opposite orders: every flush
    lands (on PostgreSQL the rows are locked in one order, so two flushes cannot deadlock)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from authrelay.store import accounts as account_store
    from authrelay.store.models import ConnectedAccount, Connection

    connection = f"both-{unique}"
    with server.api(dev_client) as api:
        enable(
            api, provider_definition(f"Both {unique}", upstream), connection, "y0", {"api_key": "k"}
        )
        for n in range(1, 150):
            create_account(api, connection, f"y{n}", static(api_key=f"key-y{n}"))
    t0 = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)

    async def run() -> set[datetime | None]:
        first = await create_runtime(_settings(server))
        second = await create_runtime(_settings(server))
        try:
            async with first.sessions() as session:
                ids = list(
                    await session.scalars(
                        select(ConnectedAccount.id)
                        .join(Connection, Connection.id == ConnectedAccount.connection_id)
                        .where(Connection.name == connection)
                    )
                )
            assert len(ids) == 150

            async def flush(runtime: Any, used: dict[str, datetime]) -> None:
                async with runtime.sessions() as session:
                    await account_store.touch_last_used(session, used)
                    await session.commit()

            monkeypatch.setattr(account_store, "TOUCH_CHUNK", 40)  # several chunks each
            for n in range(1, 6):
                forward = {i: t0 + timedelta(seconds=2 * n) for i in ids}
                backward = {i: t0 + timedelta(seconds=2 * n + 1) for i in reversed(ids)}
                await asyncio.gather(flush(first, forward), flush(second, backward))
            async with first.sessions() as session:
                found = await session.scalars(
                    select(ConnectedAccount.last_used_at).where(ConnectedAccount.id.in_(ids))
                )
                return {w.replace(tzinfo=UTC) if w and w.tzinfo is None else w for w in found}
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(run()) == {t0 + timedelta(seconds=11)}


def test_the_first_calls_after_a_start_read_the_client_and_hosts_once(
    server: Server, dev_client: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection's first call misses the API client and the host bindings at the
    same moment after a restart: one database read each serves all of them. No timing: the
    twenty callers run up to the shared read before it can finish (it waits for the
    database; they wait for nothing before it)."""
    from authrelay.proxy import resolve as proxy_resolve

    token = server.token(dev_client)
    reads: list[str] = []
    real_client, real_hosts = proxy_resolve.get_client, proxy_resolve.bound_hosts

    async def counted_client(session: Any, client_id: str) -> Any:
        reads.append("client")
        return await real_client(session, client_id)

    async def counted_hosts(session: Any) -> Any:
        reads.append("hosts")
        return await real_hosts(session)

    monkeypatch.setattr(proxy_resolve, "get_client", counted_client)
    monkeypatch.setattr(proxy_resolve, "bound_hosts", counted_hosts)

    async def run() -> list[str]:
        runtime = await create_runtime(_settings(server))
        try:
            calls = [cached_environment(runtime, token, "127.0.0.1") for _ in range(20)]
            return list(await asyncio.gather(*calls))
        finally:
            await runtime.close()

    envs = asyncio.run(run())
    assert len(set(envs)) == 1 and envs[0]
    assert sorted(reads) == ["client", "hosts"]
