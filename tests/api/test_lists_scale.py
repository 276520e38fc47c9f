"""Lists at scale (migration 0004_lists): keyset pages through every filter against a model
of the data, `total_size` from the maintained counts and from capped counts, substring
search answering the same on SQLite and PostgreSQL, and the query plans using the indexes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.resources import (
    api_key_provider,
    create_account,
    create_connection,
    create_provider,
    static,
    violations,
)
from tests.support.servers import Server, create_client, create_environment, start_server

ACCOUNTS = "/api/v1/connected_accounts"
SEARCH = "/api/v1/connected_accounts:search"

# identifier, connection, organization, user: some identifiers repeat across connections
# (ties on the identifier filter), some carry LIKE wildcards and quotes literally.
ROWS = [
    ("shared@example.com", "alpha", "org_a", "u1"),
    ("shared@example.com", "beta", "org_a", "u2"),
    ("Alice.Smith@Example.com", "alpha", "org_b", "u1"),
    ("bob_jones@example.org", "gamma", None, "u3"),
    ("carol%off@x.io", "beta", "org_b", None),
    ('dave"quote@x.io', "alpha", None, "u1"),
    ("ALICE-admin@corp.example", "gamma", "org_a", "u2"),
    ("shared@example.com", "gamma", "org_b", "u1"),
    ("back\\slash@x.io", "alpha", "org_a", None),
    ("zed", "beta", None, "u3"),
    ("user10@betamax.io", "alpha", "org_a", "u1"),
    ("user11@betamax.io", "beta", "org_a", "u1"),
    ("user12@betamax.io", "gamma", "org_a", "u1"),
    ("xbobx", "alpha", None, None),
]
CONNECTIONS = {"alpha": "keyed", "beta": "keyed", "gamma": "openai"}


def walk(api: httpx.Client, path: str, params: dict[str, Any], size: int) -> tuple[list[str], int]:
    """Every page of a list: the ids in order, and `total_size` (the same on every page)."""
    ids: list[str] = []
    totals = set()
    query: dict[str, Any] = {**params, "page_size": size}
    for _ in range(100):
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "connected_accounts", "next_page_token", "prev_page_token", "total_size",
        }  # fmt: skip
        assert len(body["connected_accounts"]) <= size
        ids += [a["id"] for a in body["connected_accounts"]]
        totals.add(body["total_size"])
        if not body["next_page_token"]:
            assert len(totals) == 1, totals
            return ids, totals.pop()
        assert len(body["connected_accounts"]) == size
        query["page_token"] = body["next_page_token"]
    raise AssertionError("pages never ended")


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[tuple[dict[str, str], list[dict[str, Any]]]]:
    """An environment of its own holding ROWS; each model row gets its `id`."""
    env = "lists-scale"
    create_environment(server.backend, env)
    client = create_client(server.backend, env)
    model: list[dict[str, Any]] = []
    with server.api(client) as api:
        key = create_provider(api, api_key_provider("Listed At Scale"))
        providers = {"keyed": key, "openai": "openai"}
        for name, provider in CONNECTIONS.items():
            create_connection(api, {"provider_key": providers[provider], "key_id": name})
        for i, (identifier, conn, org, user) in enumerate(ROWS):
            extra = {k: v for k, v in (("organization_id", org), ("user_id", user)) if v}
            made = create_account(api, conn, identifier, static(api_key=f"k{i}"), **extra)
            model.append(
                {
                    "id": made["id"],
                    "identifier": identifier,
                    "connector": conn,
                    "provider": providers[CONNECTIONS[conn]],
                    "organization_id": org,
                    "user_id": user,
                }
            )
    yield client, model


def matches(row: dict[str, Any], text: str) -> bool:
    """Search semantics: case-insensitive (ASCII) substring of identifier, connector or
    provider; wildcard characters are literal."""
    fields = (row["identifier"], row["connector"], row["provider"])
    return any(text.lower() in value.lower() for value in fields)


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({}, lambda r: True),
    ({"connector": "alpha"}, lambda r: r["connector"] == "alpha"),
    ({"connection_names": ["alpha", "gamma"]}, lambda r: r["connector"] in {"alpha", "gamma"}),
    ({"provider": "openai"}, lambda r: r["provider"] == "openai"),
    ({"identifier": "shared@example.com"}, lambda r: r["identifier"] == "shared@example.com"),
    ({"organization_id": "org_a"}, lambda r: r["organization_id"] == "org_a"),
    ({"user_id": "u1"}, lambda r: r["user_id"] == "u1"),
    (
        {"organization_id": "org_a", "user_id": "u1"},
        lambda r: r["organization_id"] == "org_a" and r["user_id"] == "u1",
    ),
    ({"connector": "beta", "user_id": "u1"}, lambda r: r["connector"] == "beta" and r["user_id"] == "u1"),
    ({"query": "shared"}, lambda r: matches(r, "shared")),
    ({"query": "ALICE"}, lambda r: matches(r, "alice")),
    ({"query": "beta"}, lambda r: matches(r, "beta")),
    ({"query": "bob"}, lambda r: matches(r, "bob")),
    ({"query": "%off"}, lambda r: matches(r, "%off")),
    ({"query": "_jo"}, lambda r: matches(r, "_jo")),
    ({"query": 'e"q'}, lambda r: matches(r, 'e"q')),
    ({"query": "k\\s"}, lambda r: matches(r, "k\\s")),
    ({"query": "ze"}, lambda r: matches(r, "ze")),
    ({"query": "a"}, lambda r: matches(r, "a")),
    ({"query": "%"}, lambda r: matches(r, "%")),
    ({"query": "user1", "connector": "gamma"}, lambda r: matches(r, "user1") and r["connector"] == "gamma"),
    ({"query": "example", "user_id": "u1"}, lambda r: matches(r, "example") and r["user_id"] == "u1"),
    ({"query": "alpha", "provider": "openai"}, lambda r: False),
    ({"query": "nothing-like-this"}, lambda r: False),
]  # fmt: skip


@pytest.mark.parametrize("size", [1, 3, 50])
def test_pages_follow_the_model(
    server: Server, world: tuple[dict[str, str], list[dict[str, Any]]], size: int
) -> None:
    """Every filter, walked page by page: the rows in creation order, none repeated or
    missed, `total_size` exact (below the count limit) and the same on every page."""
    client, model = world
    with server.api(client) as api:
        for params, keep in FILTERS:
            expected = [row["id"] for row in model if keep(row)]
            got, total = walk(api, ACCOUNTS, params, size)
            assert got == expected, params
            assert total == len(expected), params


def test_search_endpoint_and_within_connection(
    server: Server, world: tuple[dict[str, str], list[dict[str, Any]]]
) -> None:
    client, model = world
    with server.api(client) as api:
        for text in ("shared", "ALICE", "beta", "x.io", "bob", "%", "ze"):
            expected = [row["id"] for row in model if matches(row, text)]
            assert walk(api, SEARCH, {"query": text}, 2) == (expected, len(expected)), text
            within = [
                row["id"] for row in model if matches(row, text) and row["connector"] == "beta"
            ]
            assert walk(api, SEARCH, {"query": text, "connection_id": "beta"}, 2) == (
                within,
                len(within),
            ), text


def test_page_tokens(server: Server, world: tuple[dict[str, str], list[dict[str, Any]]]) -> None:
    """A token is a position, not a page number: rows created after it was issued still
    come in order, and a token from one filter continues by position under another."""
    client, model = world
    with server.api(client) as api:
        first = api.get(ACCOUNTS, params={"page_size": 4}).json()
        token = first["next_page_token"]
        rest = api.get(ACCOUNTS, params={"page_size": 100, "page_token": token}).json()
        assert [a["id"] for a in rest["connected_accounts"]] == [r["id"] for r in model[4:]]
        same_token = api.get(
            ACCOUNTS, params={"page_size": 100, "page_token": token, "connector": "beta"}
        ).json()
        assert [a["id"] for a in same_token["connected_accounts"]] == [
            r["id"] for r in model[4:] if r["connector"] == "beta"
        ]
        for bad in ("IngiIg", "eyJhIjoxfQ", "!!", "bnVsbA"):
            assert set(violations(api.get(ACCOUNTS, params={"page_token": bad}))) == {
                "page_token"
            }, bad


def test_total_size_follows_creates_and_deletes(server: Server, unique: str) -> None:
    """The maintained counts move with every insert and delete, including the accounts
    removed with their connection, and count providers too."""
    env = f"counts-{unique}"
    create_environment(server.backend, env)
    with server.api(create_client(server.backend, env)) as api:

        def total(params: dict[str, Any]) -> int:
            body = api.get(ACCOUNTS, params=params).json()
            return int(body["total_size"])

        def customs() -> int:
            params = {"filter.provider_type": "CUSTOM"}
            return int(api.get("/api/v1/providers", params=params).json()["total_size"])

        assert total({}) == 0 and customs() == 0
        key = create_provider(api, api_key_provider(f"Counted {unique}"))
        spare = create_provider(api, api_key_provider(f"Spare {unique}"))
        assert customs() == 2
        assert api.delete(f"/api/v1/custom-providers/{spare}").status_code == 200
        assert customs() == 1
        create_connection(api, {"provider_key": key, "key_id": "one"})
        gone = create_connection(api, {"provider_key": key, "key_id": "two"})
        made = [create_account(api, "one", f"p{i}", static(api_key="k")) for i in range(3)]
        made += [create_account(api, "two", f"q{i}", static(api_key="k")) for i in range(2)]
        assert (total({}), total({"connector": "one"}), total({"provider": key})) == (5, 3, 5)
        assert total({"connection_names": ["one", "two"]}) == 5
        deleted = api.post(f"{ACCOUNTS}:delete", json={"id": made[0]["id"]})
        assert deleted.status_code == 200, deleted.text
        assert (total({}), total({"connector": "one"})) == (4, 2)
        dropped = api.delete(f"/api/v1/connections/{gone['id']}", params={"force": "true"})
        assert dropped.status_code == 200, dropped.text
        assert (total({}), total({"provider": key}), total({"connector": "two"})) == (2, 2, 0)
        # a refused duplicate changes nothing
        again = api.post(ACCOUNTS, json={"connector": "one", "identifier": "p1"})
        assert again.status_code == 409 and total({}) == 2


@pytest.fixture(scope="module")
def capped_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server on the same store, counting filtered lists up to 3 rows."""
    srv = start_server(
        server.backend, tmp_path_factory.mktemp("capped"), AUTHRELAY_LIST_COUNT_LIMIT="3"
    )
    yield srv
    srv.stop()


def test_total_size_count_limit(
    capped_server: Server, world: tuple[dict[str, str], list[dict[str, Any]]]
) -> None:
    """Filters the maintained counts cannot answer are counted up to the limit; the pages
    still hold every row; filters on connections stay exact."""
    client, model = world
    with capped_server.api(client) as api:
        u1 = [row["id"] for row in model if row["user_id"] == "u1"]
        assert len(u1) > 3
        assert walk(api, ACCOUNTS, {"user_id": "u1"}, 2) == (u1, 3)
        example = [row["id"] for row in model if matches(row, "example")]
        assert walk(api, ACCOUNTS, {"query": "example"}, 2) == (example, 3)
        shared = [row["id"] for row in model if row["identifier"] == "shared@example.com"]
        assert walk(api, ACCOUNTS, {"identifier": "shared@example.com"}, 2) == (shared, 3)
        alpha = [row["id"] for row in model if row["connector"] == "alpha"]
        assert walk(api, ACCOUNTS, {"connector": "alpha"}, 2) == (alpha, len(alpha))
        assert walk(api, ACCOUNTS, {}, 5) == ([row["id"] for row in model], len(model))
        # a search whose connection part is counted exactly, plus a capped identifier part
        beta = [row["id"] for row in model if matches(row, "beta")]
        got, total = walk(api, ACCOUNTS, {"query": "beta"}, 4)
        assert got == beta
        by_connection = sum(1 for row in model if row["connector"] == "beta")
        assert total == by_connection + min(3, len(beta) - by_connection)
        # The audit log counts up to the limit too, filtered or not; its pages hold it all.
        created, total = _audit_walk(api, {"resource_type": "connected_account"}, 4)
        assert total == 3
        assert {row["id"] for row in model} <= set(created)
        everything, total = _audit_walk(api, {}, 7)
        assert total == 3 and set(created) <= set(everything)
        one = model[0]["id"]
        assert _audit_walk(api, {"resource_id": one}, 2)[0] == [one]


def _audit_walk(api: httpx.Client, params: dict[str, Any], size: int) -> tuple[list[str], int]:
    """Every page of the audit log: the resource ids, and `total_size` (on every page)."""
    ids: list[str] = []
    totals = set()
    query: dict[str, Any] = {**params, "page_size": size}
    while True:
        response = api.get("/api/v1/audit-logs", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [entry["resource_id"] for entry in body["audit_logs"]]
        totals.add(body["total_size"])
        if not body["next_page_token"]:
            assert len(totals) == 1, totals
            return ids, totals.pop()
        query["page_token"] = body["next_page_token"]


def _data_path(server: Server) -> Path:
    return server.backend.data_dir / "authrelay.db"


def test_query_plans_use_the_indexes(
    server: Server, world: tuple[dict[str, str], list[dict[str, Any]]]
) -> None:
    """The statements a list page runs (recorded from the real store code) read an index
    in `seq` order: no full scan of the table, no sort of its rows."""
    import asyncio

    assert world[1]  # the plans are checked on the store the world was made in
    asyncio.run(_check_plans(server))


async def _check_plans(server: Server) -> None:
    from sqlalchemy import event, select, text

    from authrelay.store import accounts as account_store
    from authrelay.store import audit as audit_store
    from authrelay.store import providers as provider_store
    from authrelay.store.db import create_engine, session_factory
    from authrelay.store.models import Connection, Environment

    url = server.backend.database_url or f"sqlite+aiosqlite:///{_data_path(server)}"
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url)
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    postgres = engine.dialect.name == "postgresql"
    async with session_factory(engine)() as session:
        env_id = await session.scalar(
            select(Environment.id).where(Environment.name == "lists-scale")
        )
        assert env_id
        alpha = await session.scalar(
            select(Connection.id).where(
                Connection.environment_id == env_id, Connection.name == "alpha"
            )
        )
        cases = [
            account_store.AccountFilter(),
            account_store.AccountFilter(identifier="shared@example.com"),
            account_store.AccountFilter(organization_id="org_a"),
            account_store.AccountFilter(user_id="u1"),
            account_store.AccountFilter(connection_ids=[alpha]),
            account_store.AccountFilter(query="example"),
        ]
        plans = []
        for filters in cases:
            seen.clear()
            await account_store.page(
                session, env_id, filters, after_seq=3, limit=5, count_limit=1000
            )
            page_sql = [s for s in seen if "ORDER BY" in s[0] and "connected_accounts" in s[0]]
            assert page_sql, filters
            for statement, params in page_sql:
                plans.append((filters, await _plan(session, statement, params, postgres)))
            if filters.query:  # the identifier candidates come from the trigram index
                marker = "identifier_matches" if postgres else "connected_accounts_fts"
                found = [s for s in seen if marker in s[0]]
                assert found, seen
                if postgres:
                    # On a table this small the planner rightly prefers another index;
                    # what is checked is that the trigram index the query can use exists.
                    definition = await session.scalar(
                        text(
                            "SELECT indexdef FROM pg_indexes "
                            "WHERE indexname = 'ix_accounts_identifier_trgm'"
                        )
                    )
                    assert definition and "gin_trgm_ops" in definition, definition
                    assert "lower((identifier)" in definition, definition
                    # A short pending list: searches never read megabytes of unmerged
                    # entries after many new accounts (migration 0010).
                    options = await session.scalar(
                        text(
                            "SELECT reloptions FROM pg_class "
                            "WHERE relname = 'ix_accounts_identifier_trgm'"
                        )
                    )
                    assert options == ["gin_pending_list_limit=256"], options
                else:
                    plan = await _plan(session, *found[0], postgres)
                    assert "SCAN connected_accounts_fts VIRTUAL TABLE" in plan, plan
        seen.clear()
        await provider_store.page(
            session, env_id, identifier=None, after_seq=1, before_seq=None, limit=5
        )
        for statement, params in seen:
            plans.append(("providers", await _plan(session, statement, params, postgres)))
        for column in ("resource_id", "resource_type", "actor", "action"):
            seen.clear()
            filters = {"resource_type": None, "resource_id": None, column: "x"}
            await audit_store.list_entries(
                session, env_id, before_seq=10**9, limit=5, count_limit=1000, **filters
            )
            index = f"ix_audit_log_env_{column}_seq"
            if postgres:  # as above: on tiny tables the planner rightly takes another index
                definition = await session.scalar(
                    text(f"SELECT indexdef FROM pg_indexes WHERE indexname = '{index}'")
                )
                assert definition and f"(environment_id, {column}, seq)" in definition
                continue
            for statement, params in seen:
                plan = await _plan(session, statement, params, postgres)
                assert index in plan, (column, plan)
                plans.append((f"audit {column}", plan))
    await engine.dispose()
    for what, plan in plans:
        if postgres:
            assert "Seq Scan on connected_accounts" not in plan, (what, plan)
            assert "Seq Scan on providers" not in plan, (what, plan)
            assert "Index" in plan, (what, plan)
            if "query" not in str(what):
                assert "Sort" not in plan, (what, plan)
        else:
            assert "TEMP B-TREE" not in plan, (what, plan)
            assert "SCAN connected_accounts" not in plan.replace(
                "SCAN connected_accounts_fts", ""
            ), (what, plan)
            assert "SCAN providers" not in plan, (what, plan)
            assert "USING" in plan, (what, plan)
        if what == "providers":
            assert "ix_providers_env_seq" in plan, plan


async def _plan(session: Any, statement: str, params: Any, postgres: bool) -> str:
    connection = await session.connection()
    if postgres:
        # The test tables are tiny: left to costs, the planner may read any index and sort.
        # Sorting and whole-table reads priced out, it still sorts when no index serves the
        # order, so a missing index still shows as "Sort".
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await connection.exec_driver_sql(f"SET LOCAL {setting} = off")
        result = await connection.exec_driver_sql("EXPLAIN " + statement, params)
        return "\n".join(str(row[0]) for row in result)
    result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
    return "\n".join(str(row[-1]) for row in result)
