"""The tool-call log (issue 22, part 4; docs/tools.md, "Tool call logs"): REST calls are
listed after the background flush, filtered, paged and fetched by execution id; the
upstream's secrets never reach a row or an answer; a full queue drops the oldest and counts
it; rows past the retention time are deleted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.echo_upstream import EchoUpstream, leaks, strings_of
from tests.support.servers import Backend, Server, start_server
from tests.support.tools import setup_provider, status_tool, tool_body
from tests.support.upstream import RecordingUpstream

LOGS = "/api/v1/agentkit/tool_call_logs"


def poll(get: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    """`get()` until `done` holds (the log is written by a background task)."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def listed(api: httpx.Client, count: int, **query: Any) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        answer = api.get(LOGS, params=query)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    body: dict[str, Any] = poll(get, lambda b: len(b["tool_call_logs"]) >= count)
    assert len(body["tool_call_logs"]) == count, body
    return body


def _calls(api: httpx.Client, upstream: RecordingUpstream, unique: str) -> dict[str, Any]:
    provider, conn, account = setup_provider(api, upstream, unique, "ann")
    ok, failing = f"items_{unique}", f"status_{unique}"
    assert api.post("/api/v1/tools", json=tool_body(provider, ok)).status_code == 201
    assert api.post("/api/v1/tools", json=status_tool(provider, failing)).status_code == 201
    run = f"run-{unique}"
    ids = []
    for n in range(3):
        call = {"tool_name": ok, "params": {"owner": f"o{n}"}, "identifier": "ann"}
        answer = api.post("/api/v1/execute_tool", json={**call, "agent_run_id": run})
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["execution_id"])
    call = {"tool_name": failing, "params": {"code": 404}, "identifier": "ann"}
    assert api.post("/api/v1/execute_tool", json={**call, "agent_run_id": run}).status_code == 404
    bad = {"tool_name": ok, "params": {"limit": 0}, "identifier": "ann", "agent_run_id": run}
    assert api.post("/api/v1/execute_tool", json=bad).status_code == 400
    return {
        "provider": provider,
        "conn": conn,
        "account": account,
        "run": run,
        "ok_ids": ids,
        "tool": ok,
    }


def test_rest_calls_are_listed_filtered_paged_and_fetched(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        made = _calls(api, upstream, unique)
        body = listed(api, 5, agent_run_id=made["run"])
        assert body["total_size"] == 5 and body["next_page_token"] == ""
        rows = body["tool_call_logs"]
        starts = [r["started_at"] for r in rows]
        assert starts == sorted(starts, reverse=True)  # newest first
        upstream_error, bad_input = rows[1], rows[0]
        assert bad_input["status"] == "ERROR" and bad_input["error_tier"] == "PLATFORM"
        assert bad_input["error_code"] == "INVALID_ARGUMENT"
        assert bad_input["upstream_status"] == 0
        assert upstream_error["status"] == "ERROR" and upstream_error["error_tier"] == "PROVIDER"
        assert upstream_error["error_code"] == "NOT_FOUND"
        assert upstream_error["upstream_status"] == 404
        assert upstream_error["error_message"] == "the upstream answered 404"
        success = rows[-1]
        assert success["execution_id"] == made["ok_ids"][0]
        assert success["id"] == "tcl_" + success["execution_id"].removeprefix("exe_")
        assert success["status"] == "SUCCESS" and success["error_code"] == ""
        assert success["source"] == "REST" and success["tool_name"] == made["tool"]
        assert success["provider"] == made["provider"]
        assert success["connection_name"] == made["conn"]
        assert success["connection_id"] == made["account"]["connection_id"]
        assert success["connected_account_id"] == made["account"]["id"]
        assert success["identifier"] == "ann"
        assert success["upstream_status"] == 200 and success["duration_ms"] >= 0
        assert "params" not in success and "data" not in success

        # filters
        run = made["run"]
        errors = api.get(LOGS, params={"agent_run_id": run, "status": "error"}).json()
        assert {r["error_tier"] for r in errors["tool_call_logs"]} == {"PROVIDER", "PLATFORM"}
        both = api.get(
            LOGS, params=[("agent_run_id", run), ("status", "ERROR"), ("status", "SUCCESS")]
        )
        assert both.json()["total_size"] == 5
        # the refused inputs never got as far as choosing a connection
        assert bad_input["connection_name"] == "" and bad_input["provider"] == made["provider"]
        by_conn = api.get(LOGS, params={"connection_name": made["conn"], "source": "REST"})
        assert by_conn.json()["total_size"] == 4
        by_id = api.get(LOGS, params={"connection_id": success["connection_id"]})
        assert by_id.json()["total_size"] == 4
        assert (
            api.get(LOGS, params={"agent_run_id": run, "source": "MCP"}).json()["tool_call_logs"]
            == []
        )
        assert api.get(LOGS, params={"provider": made["provider"]}).json()["total_size"] == 5
        assert (
            api.get(LOGS, params={"agent_run_id": run, "identifier": "bob"}).json()["total_size"]
            == 0
        )
        later = datetime.now(UTC) + timedelta(hours=1)
        assert (
            api.get(LOGS, params={"agent_run_id": run, "start_time": later.isoformat()}).json()[
                "tool_call_logs"
            ]
            == []
        )
        current = api.get(f"{LOGS}:this", params={"agent_run_id": run}).json()
        assert current["tool_call_logs"] == rows

        # pages
        seen, token = [], ""
        while True:
            page = api.get(LOGS, params={"agent_run_id": run, "page_size": 2, "page_token": token})
            assert page.status_code == 200, page.text
            assert len(page.json()["tool_call_logs"]) <= 2
            seen += page.json()["tool_call_logs"]
            token = page.json()["next_page_token"]
            if not token:
                break
        assert seen == rows

        # one by execution id; unknown ids
        got = api.get(f"{LOGS}/{success['execution_id']}")
        assert got.status_code == 200 and got.json() == success
        missing = api.get(f"{LOGS}/exe_00000000000000000000")
        assert missing.status_code == 404 and missing.json()["code"] == 5

        # the overview counts what the list holds
        stats = api.get(
            "/api/v1/agentkit/analytics/overview", params={"provider": made["provider"]}
        )
        assert stats.status_code == 200, stats.text
        overview = stats.json()
        assert (overview["total"], overview["success"], overview["errors"]) == (5, 3, 2)
        assert (overview["provider_errors"], overview["platform_errors"]) == (1, 1)
        codes = {c["error_code"]: c["count"] for c in overview["top_error_codes"]}
        assert codes == {"NOT_FOUND": 1, "INVALID_ARGUMENT": 1}
        [per_provider] = overview["connector_breakdown"]
        assert per_provider["provider"] == made["provider"] and per_provider["total"] == 5
        assert sum(b["total"] for b in overview["time_series"]) == 5
        assert {b["bucket_duration_seconds"] for b in overview["time_series"]} == {3600}
        this = api.get(
            "/api/v1/agentkit/analytics/overview:this", params={"provider": made["provider"]}
        )
        assert this.json() == overview


def test_bad_filters_are_named(server: Server, dev_client: dict[str, str]) -> None:
    with server.api(dev_client) as api:
        answer = api.get(
            LOGS,
            params={"status": "BOGUS", "source": "FAX", "start_time": "yesterday"},
        )
        assert answer.status_code == 400, answer.text
        fields = {v["field"] for v in answer.json()["details"][0]["field_violations"]}
        assert fields == {"status", "source", "start_time"}
        for params, field in (
            ({"page_token": "!!!"}, "page_token"),
            ({"page_token": "WzFd"}, "page_token"),  # a valid cursor of the wrong shape
            ({"page_size": "-1"}, "page_size"),
            ({"end_time": "2026-01-01T00:00:00"}, "end_time"),  # no offset
            (
                {"start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
                "end_time",
            ),
        ):
            answer = api.get(LOGS, params=params)
            assert answer.status_code == 400, (params, answer.text)
            [violation] = answer.json()["details"][0]["field_violations"]
            assert violation["field"] == field, (params, answer.text)
        overview = api.get("/api/v1/agentkit/analytics/overview", params={"status": "x"})
        assert overview.status_code == 400 and "status" in overview.text


def test_another_environment_sees_none_of_the_calls(
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        made = _calls(api, upstream, unique)
        listed(api, 5, agent_run_id=made["run"])
    with server.api(prod_client) as prod:
        assert prod.get(LOGS, params={"agent_run_id": made["run"]}).json()["total_size"] == 0
        assert prod.get(f"{LOGS}/{made['ok_ids'][0]}").status_code == 404


API_KEY = 'ak/Logs+Key="9"&q~tool'


def test_secrets_in_an_upstream_error_body_never_reach_the_log(
    server: Server, dev_client: dict[str, str], echo: EchoUpstream, unique: str
) -> None:
    pattern = {
        "type": "API_KEY",
        "fields": [{"field_name": "api_key", "input_type": "password", "required": True}],
        "auth_query_param": "key",
    }
    with server.api(dev_client) as api:
        definition = {
            "display_name": f"Echo Logs {unique}",
            "auth_patterns": [pattern],
            "proxy_url": f"{echo.url}/api",
            "proxy_enabled": True,
        }
        created = api.post("/api/v1/custom-providers", json=definition)
        assert created.status_code == 201, created.text
        provider = created.json()["provider"]["identifier"]
        conn = f"c-{provider}"
        body = {"provider_key": provider, "key_id": conn}
        assert api.post("/api/v1/connections", json=body).status_code == 201
        account = {
            "connector": conn,
            "identifier": "eve",
            "connected_account": {
                "authorization_details": {"static_auth": {"details": {"api_key": API_KEY}}}
            },
        }
        assert api.post("/api/v1/connected_accounts", json=account).status_code == 201
        name = f"echo_{unique}"
        tool = {
            "provider": provider,
            "definition": {
                "name": name,
                "description": "Fails, echoing its request",
                "input_schema": {"type": "object", "properties": {}},
            },
            "binding": {"method": "POST", "path": "/fail/500/raw", "params": {}},
        }
        assert api.post("/api/v1/tools", json=tool).status_code == 201
        run = f"echo-{unique}"
        call = {"tool_name": name, "params": {}, "identifier": "eve", "agent_run_id": run}
        answer = api.post("/api/v1/execute_tool", json=call)
        assert answer.status_code == 502, answer.text
        [row] = listed(api, 1, agent_run_id=run)["tool_call_logs"]
        assert row["error_tier"] == "PROVIDER" and row["upstream_status"] == 500
        got = api.get(f"{LOGS}/{row['execution_id']}").json()
        stats = api.get("/api/v1/agentkit/analytics/overview", params={"provider": provider})
    from tests.support.rawdb import rows

    stored = rows(server.backend, ["tool_call_logs"])["tool_call_logs"]
    mine = [r for r in stored if r["agent_run_id"] == run]
    assert len(mine) == 1
    seen = "\n".join([strings_of(row), strings_of(got), stats.text, strings_of(mine)])
    assert leaks(seen, [API_KEY]) == []


def _dropped(server: Server) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith("authrelay_tool_call_logs_dropped_total "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no authrelay_tool_call_logs_dropped_total in /metrics")


@pytest.fixture(scope="module")
def small_queue(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server on the same store that queues at most 2 calls and would write them
    only after an hour (so: at shutdown)."""
    srv = start_server(
        server.backend,
        tmp_path_factory.mktemp("smallqueue"),
        AUTHRELAY_TOOL_CALL_LOG_QUEUE_MAX="2",
        AUTHRELAY_TOOL_CALL_LOG_FLUSH_SECONDS="3600",
    )
    yield srv
    srv.stop()


def test_a_full_queue_drops_the_oldest_counts_it_and_shutdown_writes_the_rest(
    server: Server,
    small_queue: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        provider, _conn, _account = setup_provider(api, upstream, unique, "dan")
        name = f"items_{unique}"
        assert api.post("/api/v1/tools", json=tool_body(provider, name)).status_code == 201
    run = f"drop-{unique}"
    ids = []
    with small_queue.api(dev_client) as small:
        assert _dropped(small_queue) == 0
        for n in range(5):
            call = {"tool_name": name, "params": {"owner": f"o{n}"}, "identifier": "dan"}
            answer = small.post("/api/v1/execute_tool", json={**call, "agent_run_id": run})
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["execution_id"])
        assert _dropped(small_queue) == 3
        assert small.get(LOGS, params={"agent_run_id": run}).json()["total_size"] == 0
    small_queue.stop()  # the shutdown writes what is queued: the two newest calls
    with server.api(dev_client) as api:
        rows = listed(api, 2, agent_run_id=run)["tool_call_logs"]
    assert [r["execution_id"] for r in rows] == [ids[4], ids[3]]


def _insert_old(backend: Backend, row: dict[str, Any]) -> None:
    from authrelay.store import db
    from authrelay.store import tool_call_logs as store

    url = (
        backend.database_url or f"sqlite+aiosqlite:///{backend.data_dir.resolve() / 'authrelay.db'}"
    )
    url = url.replace("postgresql://", "postgresql+asyncpg://", 1)

    async def insert() -> None:
        engine = db.create_engine(url)
        try:
            async with db.session_factory(engine)() as session:
                await store.insert_batch(session, [row])
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(insert())


def test_rows_past_the_retention_time_are_deleted(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with server.api(dev_client) as api:
        made = _calls(api, upstream, unique)
        [recent, *_] = listed(api, 5, agent_run_id=made["run"])["tool_call_logs"]
    old = {
        key: recent[key]
        for key in (
            "environment_id", "agent_run_id", "tool_name", "provider", "connected_account_id",
            "connection_name", "identifier", "user_id", "organization_id", "source", "status",
            "error_tier", "error_code", "error_message", "upstream_status", "duration_ms",
        )
    }  # fmt: skip
    old_id = f"exe_old{unique}"
    old.update(
        execution_id=old_id,
        started_at=datetime.now(UTC) - timedelta(days=31),
    )
    _insert_old(server.backend, old)
    with server.api(dev_client) as api:
        assert api.get(f"{LOGS}/{old_id}").status_code == 200
    # a server's first round deletes at once (then once a minute)
    pruner = start_server(
        server.backend,
        tmp_path_factory.mktemp("pruner"),
        AUTHRELAY_TOOL_CALL_LOG_FLUSH_SECONDS="0.1",
    )
    try:
        with server.api(dev_client) as api:
            gone = poll(lambda: api.get(f"{LOGS}/{old_id}").status_code, lambda s: s == 404)
            assert gone == 404
            assert api.get(LOGS, params={"agent_run_id": made["run"]}).json()["total_size"] == 5
    finally:
        pruner.stop()
