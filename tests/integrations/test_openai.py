"""`authrelay_client.integrations.openai` against the real server and a recording upstream: the
tools in both of OpenAI's formats (checked with the `openai` package's own types), and the
model's tool calls built as the SDK parses them from an API answer (no model)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionToolMessageParam,
    ChatCompletionToolParam,
)
from openai.types.responses import FunctionToolParam, ResponseFunctionToolCall
from openai.types.responses.response_input_param import FunctionCallOutput
from pydantic import TypeAdapter

import authrelay_client
from authrelay_client.integrations._common import safe_name
from authrelay_client.integrations.openai import OpenAITools
from tests.integrations.helpers import setup_user
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream

NAME_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _client(server: Server, creds: dict[str, str]) -> authrelay_client.Client:
    return authrelay_client.Client(server.url, creds["client_id"], creds["client_secret"])


def _completion(calls: list[tuple[str, str, str]]) -> ChatCompletion:
    """A Chat Completions answer whose message calls tools, as the SDK parses it."""
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_800_000_000,
            "model": "scripted",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": arguments},
                            }
                            for call_id, name, arguments in calls
                        ],
                    },
                }
            ],
        }
    )


def _same_as(adapter: TypeAdapter[Any], value: dict[str, Any]) -> bool:
    """`value` fits the openai type, and has no key the type does not know (validation of
    a TypedDict drops unknown keys)."""
    return adapter.validate_python(value) == value


def test_formats_fit_the_openai_types(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "oa-fmt")
    with _client(server, dev_client) as client:
        tools = OpenAITools.load(client, identifier="oa-fmt")
    chat = {t["function"]["name"]: t for t in tools.chat_completions()}
    responses = {t["name"]: t for t in tools.responses()}
    names = {f"items_{unique}", f"status_{unique}", f"conf_{unique}"}
    assert set(chat) == set(responses) == names
    chat_type: TypeAdapter[Any] = TypeAdapter(ChatCompletionToolParam)
    responses_type: TypeAdapter[Any] = TypeAdapter(FunctionToolParam)
    for name in names:
        assert NAME_RULE.match(name)
        assert _same_as(chat_type, chat[name]) and _same_as(responses_type, responses[name])
    items = chat[f"items_{unique}"]["function"]
    assert items["description"] == "Read the items of one owner"
    assert items["parameters"]["required"] == ["owner"]
    assert items["strict"] is False and responses[f"items_{unique}"]["strict"] is False
    assert responses[f"items_{unique}"]["parameters"] == items["parameters"]


def test_chat_completions_tool_calls_run_upstream(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "oa-chat")
    with _client(server, dev_client) as client:
        tools = OpenAITools.load(client, identifier="oa-chat", agent_run_id="run_oa")
        arguments = json.dumps({"owner": "x/y", "limit": 3, "title": "t", "trace": "tr"})
        completion = _completion(
            [("call_1", f"items_{unique}", arguments), ("call_2", f"status_{unique}", "{}")]
        )
        upstream.clear()
        calls = completion.choices[0].message.tool_calls or []
        messages = [tools.run(call) for call in calls]
    seen = upstream.requests[-1]
    assert len(upstream.requests) == 1  # the second call's inputs were refused first
    assert seen.method == "POST" and seen.raw_path == "/api/owners/x%2Fy/items?per_page=3"
    assert seen.header("X-Api-Key") == "k-secret-1" and seen.header("X-Trace") == "tr"
    assert json.loads(seen.body) == {"title": "t"}
    message_type: TypeAdapter[Any] = TypeAdapter(ChatCompletionToolMessageParam)
    assert all(_same_as(message_type, m) for m in messages)
    ok, refused = messages
    assert ok["role"] == "tool" and ok["tool_call_id"] == "call_1"
    assert json.loads(ok["content"])["path"] == "/api/owners/x%2Fy/items?per_page=3"
    assert refused["tool_call_id"] == "call_2"
    body = json.loads(refused["content"].removeprefix("error: "))
    assert body["code"] == 3
    assert [v["field"] for v in body["details"][0]["field_violations"]] == ["params.code"]
    assert '"agent_run_id": "run_oa"' in server.log_with('"agent_run_id": "run_oa"')


async def test_responses_api_calls_and_dicts_async(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "oa-resp")
    async with authrelay_client.AsyncClient(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        tools = await OpenAITools.aload(client, identifier="oa-resp")
        item = ResponseFunctionToolCall(
            type="function_call",
            call_id="fc_1",
            name=f"items_{unique}",
            arguments='{"owner": "r1"}',
        )
        upstream.clear()
        answer = await tools.arun(item)
        assert _same_as(TypeAdapter(FunctionCallOutput), answer)
        assert answer["type"] == "function_call_output" and answer["call_id"] == "fc_1"
        assert json.loads(answer["output"])["path"] == "/api/owners/r1/items"
        assert upstream.requests[-1].raw_path == "/api/owners/r1/items"
        # plain dicts of either shape; arguments already parsed are accepted too
        as_dict = await tools.arun(
            {"id": "c9", "type": "function", "function": {"name": f"conf_{unique}",
                                                          "arguments": {"config": "z"}}}
        )  # fmt: skip
        assert as_dict["tool_call_id"] == "c9"
        assert upstream.requests[-1].raw_path == "/api/conf/z"
        with pytest.raises(ValueError, match="needs a Client"):
            tools.run(item)


def test_error_paths_are_the_message_text(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        setup_user(api, upstream, unique, "oa-err")
        with _client(server, dev_client) as client:
            tools = OpenAITools.load(client, identifier="oa-err")
            upstream.clear()

            def run(name: str, arguments: str) -> str:
                call = {"id": "c", "type": "function",
                        "function": {"name": name, "arguments": arguments}}  # fmt: skip
                content = tools.run(call)["content"]
                assert isinstance(content, str) and content.startswith("error: "), content
                return content

            assert "unknown tool 'nope'" in run("nope", "{}")
            assert "not valid JSON" in run(f"items_{unique}", "{owner:")
            assert "must be a JSON object" in run(f"items_{unique}", "[1]")
            wrong = json.loads(run(f"items_{unique}", '{"limit": 0}').removeprefix("error: "))
            assert {v["field"] for v in wrong["details"][0]["field_violations"]} == {
                "params.owner",
                "params.limit",
            }
            assert upstream.requests == []  # none of these went upstream

            upstream_error = run(f"status_{unique}", '{"code": 404}')
            assert "404" in upstream_error and "upstream_error" in upstream_error
            assert upstream.requests[-1].raw_path == "/api/status/404"

            assert api.delete(f"/api/v1/tools/items_{unique}").status_code == 200
            gone = json.loads(run(f"items_{unique}", '{"owner": "o"}').removeprefix("error: "))
            assert gone["code"] == 5 and f"items_{unique}" in gone["message"]

        with pytest.raises(ValueError, match="not a tool call"):
            tools.run({"type": "message", "content": "hello"})


def test_names_fit_openai_rules() -> None:
    taken: set[str] = set()
    long = "conn-with.dots and spaces__" + "x" * 80
    first = safe_name(long, taken)
    taken.add(first)
    second = safe_name(long, taken)
    assert NAME_RULE.match(first) and NAME_RULE.match(second) and first != second
    assert first == safe_name(long, set())  # stable
    assert safe_name("ok_name-1", set()) == "ok_name-1"
    assert safe_name("ünï côdé", set()) == "_n_c_d_"
