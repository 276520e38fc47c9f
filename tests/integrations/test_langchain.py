"""`authrelay_client.integrations.langchain` against the real server and a recording upstream,
driven by langchain-core's fake chat model (a scripted tool call) and by the tools'
`invoke`/`ainvoke`: no model, real LangChain tool plumbing."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

import authrelay_client
from authrelay_client.integrations._common import AgentTool
from authrelay_client.integrations.langchain import aget_tools, get_tools, to_structured_tool
from tests.integrations.helpers import second_account, setup_user
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

NAME_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _client(server: Server, creds: dict[str, str]) -> authrelay_client.Client:
    return authrelay_client.Client(server.url, creds["client_id"], creds["client_secret"])


def _async_client(server: Server, creds: dict[str, str]) -> authrelay_client.AsyncClient:
    return authrelay_client.AsyncClient(server.url, creds["client_id"], creds["client_secret"])


def _by_name(tools: list[BaseTool]) -> dict[str, BaseTool]:
    return {t.name: t for t in tools}


def test_a_scripted_tool_call_runs_upstream(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "lc-alice")
    with _client(server, dev_client) as client:
        tools = _by_name(get_tools(client, identifier="lc-alice", agent_run_id="run_lc"))
        assert set(tools) == {f"items_{unique}", f"status_{unique}", f"conf_{unique}"}
        items = tools[f"items_{unique}"]
        assert items.description == "Read the items of one owner"
        assert items.args_schema is not None and isinstance(items.args_schema, dict)
        assert items.args_schema["required"] == ["owner"]
        assert set(items.args) == {"owner", "limit", "title", "trace"}
        # what a model provider is sent: the input schema as the function's parameters
        spec = convert_to_openai_tool(items)["function"]
        assert spec["name"] == f"items_{unique}" and NAME_RULE.match(spec["name"])
        assert spec["parameters"]["properties"]["limit"] == {"type": "integer", "minimum": 1}

        model = GenericFakeChatModel(
            messages=iter(
                [
                    AIMessage(
                        content="",
                        tool_calls=[
                            {
                                "name": f"items_{unique}",
                                "args": {"owner": "a b", "limit": 2, "title": "hi", "trace": "t"},
                                "id": "call_1",
                            }
                        ],
                    )
                ]
            )
        )
        ai = model.invoke("list alice's items")
        assert isinstance(ai, AIMessage)
        upstream.clear()
        answers = [tools[call["name"]].invoke(call) for call in ai.tool_calls]
    message = answers[0]
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "call_1" and message.status == "success"
    seen = upstream.requests[-1]
    assert seen.method == "POST"
    assert seen.raw_path == "/api/owners/a%20b/items?per_page=2"
    assert seen.header("X-Api-Key") == "k-secret-1" and seen.header("X-Trace") == "t"
    assert json.loads(seen.body) == {"title": "hi"}
    data = json.loads(str(message.content))
    assert data["path"] == "/api/owners/a%20b/items?per_page=2"
    assert message.artifact["data"] == data
    execution_id = message.artifact["execution_id"]
    assert execution_id.startswith("exe_")
    wanted = (f'"execution_id": "{execution_id}"', '"agent_run_id": "run_lc"')
    log = server.log_with(*wanted)
    assert all(part in log for part in wanted)


def test_inputs_named_like_langchain_keywords_reach_the_tool(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "lc-kw")
    with _client(server, dev_client) as client:
        tool = _by_name(get_tools(client, identifier="lc-kw"))[f"conf_{unique}"]
        upstream.clear()
        call = {"name": tool.name, "args": {"config": "c1", "run_manager": "m"}, "id": "k1"}
        message = tool.invoke({**call, "type": "tool_call"})
    assert isinstance(message, ToolMessage) and message.status == "success", message.content
    assert upstream.requests[-1].raw_path == "/api/conf/c1?run_manager=m"


async def test_async_tools_run_on_the_async_client(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "lc-async")
    async with _async_client(server, dev_client) as client:
        tools = _by_name(await aget_tools(client, identifier="lc-async"))
        upstream.clear()
        call = {
            "name": f"items_{unique}",
            "args": {"owner": "o1"},
            "id": "call_a",
            "type": "tool_call",
        }
        message = await tools[f"items_{unique}"].ainvoke(call)
        assert isinstance(message, ToolMessage) and message.status == "success"
        assert json.loads(str(message.content))["path"] == "/api/owners/o1/items"
        assert upstream.requests[-1].raw_path == "/api/owners/o1/items"
        # an async-only tool has no sync run
        with pytest.raises(NotImplementedError):
            tools[f"items_{unique}"].invoke({"owner": "o1"})
        bad = await tools[f"items_{unique}"].ainvoke({**call, "args": {"limit": 0}})
        assert bad.status == "error" and "params.owner" in bad.content


async def test_sync_tools_also_answer_ainvoke(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "lc-thread")
    with _client(server, dev_client) as client:
        tool = _by_name(get_tools(client, identifier="lc-thread"))[f"items_{unique}"]
        upstream.clear()
        content = await tool.ainvoke({"owner": "t1"})  # plain input: the content only
    assert json.loads(content)["path"] == "/api/owners/t1/items"
    assert upstream.requests[-1].raw_path == "/api/owners/t1/items"


def test_error_paths_are_the_tool_message_text(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "lc-err")
        with _client(server, dev_client) as client:
            tools = _by_name(get_tools(client, identifier="lc-err"))
            items, status = tools[f"items_{unique}"], tools[f"status_{unique}"]

            upstream.clear()
            call = {"name": items.name, "id": "bad", "type": "tool_call"}
            bad = items.invoke({**call, "args": {"limit": 0, "title": 3, "extra": 1}})
            assert isinstance(bad, ToolMessage) and bad.status == "error"
            assert bad.content.startswith("error: ")
            body = json.loads(bad.content.removeprefix("error: "))
            assert body["code"] == 3
            fields = {v["field"] for v in body["details"][0]["field_violations"]}
            assert fields == {"params.owner", "params.limit", "params.title"}
            assert upstream.requests == []  # nothing went upstream

            failed = status.invoke(
                {"name": status.name, "id": "s", "type": "tool_call", "args": {"code": 503}}
            )
            assert failed.status == "error" and "503" in failed.content
            assert "upstream_error" in failed.content  # the upstream's body
            assert upstream.requests[-1].raw_path == "/api/status/503"

            # the tool was deleted after the agent got it: an unknown tool to the server
            assert api.delete(f"/api/v1/tools/{items.name}").status_code == 200
            gone = items.invoke({**call, "args": {"owner": "x"}})
            assert gone.status == "error"
            assert json.loads(gone.content.removeprefix("error: "))["code"] == 5

            # the account is no longer active: the model reads why
            account = client.connected_accounts.list(identifier="lc-err")[0]
            client.connected_accounts.disconnect(account.id)
            inactive = status.invoke(
                {"name": status.name, "id": "s2", "type": "tool_call", "args": {"code": 200}}
            )
            assert inactive.status == "error"
            assert json.loads(inactive.content.removeprefix("error: "))["code"] == 9


def test_refused_credentials_are_raised_not_shown_to_the_model(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        _, _, account = setup_user(api, upstream, unique, "lc-creds")
    spec = AgentTool(
        name=f"items_{unique}",
        tool_name=f"items_{unique}",
        description="",
        input_schema={"type": "object"},
        connected_account_id=account["id"],
    )
    with authrelay_client.Client(server.url, dev_client["client_id"], "not-the-secret") as bad:
        with pytest.raises(authrelay_client.AuthenticationError):
            to_structured_tool(spec, bad).invoke({"owner": "x"})
    with pytest.raises(ValueError, match="Client"):
        to_structured_tool(spec)


def test_two_accounts_of_one_provider_and_one_account(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        provider, conn, first = setup_user(api, upstream, unique, "lc-two")
        other = second_account(api, provider, f"second-{unique}", "lc-two", "k-secret-2")
    with _client(server, dev_client) as client:
        tools = _by_name(get_tools(client, identifier="lc-two", tool_names=[f"items_{unique}"]))
        assert set(tools) == {f"{conn}__items_{unique}", f"second-{unique}__items_{unique}"}
        assert all(NAME_RULE.match(n) for n in tools)
        keys = []
        for name in sorted(tools):
            upstream.clear()
            tools[name].invoke({"owner": "o"})
            keys.append(upstream.requests[-1].header("X-Api-Key"))
        assert sorted(keys) == ["k-secret-1", "k-secret-2"]
        # narrowed to one connection: plain names again
        narrowed = get_tools(client, identifier="lc-two", connector=f"second-{unique}")
        assert {t.name for t in narrowed} == {
            f"items_{unique}",
            f"status_{unique}",
            f"conf_{unique}",
        }
        # one connected account
        upstream.clear()
        by_account = _by_name(get_tools(client, connected_account_id=first["id"]))
        assert set(by_account) == {f"items_{unique}", f"status_{unique}", f"conf_{unique}"}
        by_account[f"items_{unique}"].invoke({"owner": "p"})
        assert upstream.requests[-1].header("X-Api-Key") == "k-secret-1"
        assert other["id"] != first["id"]
        with pytest.raises(ValueError, match="exactly one"):
            get_tools(client)
        with pytest.raises(ValueError, match="exactly one"):
            get_tools(client, identifier="lc-two", connected_account_id=first["id"])
