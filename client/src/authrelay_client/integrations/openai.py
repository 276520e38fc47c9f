"""authrelay's tools in OpenAI's function-calling format, and a runner for the model's tool
calls. The format needs no package; `pip install 'authrelay-client[openai]'` brings the `openai`
SDK whose answers `run` takes.

    from authrelay_client.integrations.openai import OpenAITools
    tools = OpenAITools.load(client, identifier="user@example.com")
    completion = openai_client.chat.completions.create(
        model=..., messages=messages, tools=tools.chat_completions())
    for call in completion.choices[0].message.tool_calls or []:
        messages.append(tools.run(call))      # {"role": "tool", "tool_call_id", "content"}

    response = openai_client.responses.create(model=..., input=items, tools=tools.responses())
    for item in response.output:
        if item.type == "function_call":
            items.append(tools.run(item))  # {"type": "function_call_output", ...}

`run` takes the SDK's objects or plain dicts of either API (`{"id", "function": {"name",
"arguments"}}` or `{"call_id", "name", "arguments"}`), runs `POST /api/v1/execute_tool`
through the SDK and returns the message to append. Errors the model can act on (an unknown
name, arguments that are not a JSON object, inputs that do not fit — named one by one —, a
deleted tool, an inactive account, the upstream's error) are the message's text; refused
API credentials and an unreachable server are raised."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authrelay_client._client import AsyncClient, Client
from authrelay_client._exceptions import AuthrelayClientError
from authrelay_client.integrations._common import (
    AgentTool,
    aexecute,
    aload,
    error_text,
    execute,
    is_model_error,
    load,
    result_text,
    scope,
)

__all__ = ["OpenAITools", "ToolCall", "chat_completions_tool", "parse_tool_call", "responses_tool"]


def _function(tool: AgentTool) -> dict[str, Any]:
    # strict: our schemas are not written for OpenAI's strict mode (every property
    # required, no additional ones), and the Responses API defaults it to true
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.input_schema,
        "strict": False,
    }


def chat_completions_tool(tool: AgentTool) -> dict[str, Any]:
    """A Chat Completions `tools` entry: `{"type": "function", "function": {...}}`."""
    return {"type": "function", "function": _function(tool)}


def responses_tool(tool: AgentTool) -> dict[str, Any]:
    """A Responses API function tool: `{"type": "function", "name", ...}`."""
    return {"type": "function", **_function(tool)}


@dataclass(frozen=True)
class ToolCall:
    """One tool call of the model, from either API: `responses` says which answer shape
    it needs."""

    call_id: str
    name: str
    arguments: str
    responses: bool


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)


def parse_tool_call(call: Any) -> ToolCall:
    """A Chat Completions tool call (`id`, `function.name`, `function.arguments`) or a
    Responses API `function_call` item (`call_id`, `name`, `arguments`), as the SDK's
    object or a dict."""
    function = _get(call, "function")
    if function is not None:
        fields = (_get(call, "id"), _get(function, "name"), _get(function, "arguments"))
        responses = False
    else:
        fields = (_get(call, "call_id"), _get(call, "name"), _get(call, "arguments"))
        responses = True
    call_id, name, arguments = fields
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise ValueError(
            "not a tool call: expected a Chat Completions tool call (id, function.name, "
            "function.arguments) or a Responses API function_call (call_id, name, arguments)"
        )
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments)
    return ToolCall(call_id, name, arguments if isinstance(arguments, str) else "", responses)


def _message(call: ToolCall, text: str) -> dict[str, Any]:
    if call.responses:
        return {"type": "function_call_output", "call_id": call.call_id, "output": text}
    return {"role": "tool", "tool_call_id": call.call_id, "content": text}


def _params(arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise _ArgumentsError(f"error: the arguments are not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _ArgumentsError("error: the arguments must be a JSON object")
    return value


class _ArgumentsError(Exception):
    """A call that never reaches the server: its text is the answer."""


class OpenAITools:
    """The tools of one end user in OpenAI's formats, and `run`/`arun` for the calls."""

    def __init__(
        self,
        tools: Iterable[AgentTool],
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        *,
        agent_run_id: str | None = None,
    ) -> None:
        self.tools = list(tools)
        self.by_name = {t.name: t for t in self.tools}
        self._client = client
        self._async_client = async_client
        self.agent_run_id = agent_run_id

    @classmethod
    def load(
        cls,
        client: Client,
        *,
        identifier: str | None = None,
        connected_account_id: str | None = None,
        connector: str | None = None,
        providers: Iterable[str] | None = None,
        tool_names: Iterable[str] | None = None,
        async_client: AsyncClient | None = None,
        agent_run_id: str | None = None,
    ) -> OpenAITools:
        """The tools one end user can call now (as `langchain.get_tools` picks and names
        them): for `identifier` one per ACTIVE account (narrowed to `connector`) and tool
        of its provider; for `connected_account_id`, its provider's tools."""
        who = scope(identifier, connected_account_id, connector, providers, tool_names)
        return cls(load(client, who), client, async_client, agent_run_id=agent_run_id)

    @classmethod
    async def aload(
        cls,
        client: AsyncClient,
        *,
        identifier: str | None = None,
        connected_account_id: str | None = None,
        connector: str | None = None,
        providers: Iterable[str] | None = None,
        tool_names: Iterable[str] | None = None,
        sync_client: Client | None = None,
        agent_run_id: str | None = None,
    ) -> OpenAITools:
        """`load` with an `AsyncClient` (which `arun` then uses)."""
        who = scope(identifier, connected_account_id, connector, providers, tool_names)
        tools = await aload(client, who)
        return cls(tools, sync_client, client, agent_run_id=agent_run_id)

    def chat_completions(self) -> list[dict[str, Any]]:
        """The `tools` argument of `chat.completions.create`."""
        return [chat_completions_tool(t) for t in self.tools]

    def responses(self) -> list[dict[str, Any]]:
        """The `tools` argument of `responses.create`."""
        return [responses_tool(t) for t in self.tools]

    def _prepare(self, call: Any) -> tuple[ToolCall, AgentTool, dict[str, Any]]:
        parsed = parse_tool_call(call)
        tool = self.by_name.get(parsed.name)
        if tool is None:
            raise _ArgumentsError(
                f"error: unknown tool {parsed.name!r}; call one of the tools offered"
            )
        return parsed, tool, _params(parsed.arguments)

    def run(self, call: Any) -> dict[str, Any]:
        """Run one tool call of the model; the message (Chat Completions) or input item
        (Responses API) to append."""
        if self._client is None:
            raise ValueError("run needs a Client (arun uses the AsyncClient)")
        try:
            parsed, tool, params = self._prepare(call)
        except _ArgumentsError as exc:
            return _message(parse_tool_call(call), str(exc))
        try:
            response = execute(self._client, tool, params, self.agent_run_id)
        except AuthrelayClientError as exc:
            if not is_model_error(exc):
                raise
            return _message(parsed, error_text(exc))
        return _message(parsed, result_text(response.data))

    async def arun(self, call: Any) -> dict[str, Any]:
        """`run` on the `AsyncClient`."""
        if self._async_client is None:
            raise ValueError("arun needs an AsyncClient (run uses the Client)")
        try:
            parsed, tool, params = self._prepare(call)
        except _ArgumentsError as exc:
            return _message(parse_tool_call(call), str(exc))
        try:
            response = await aexecute(self._async_client, tool, params, self.agent_run_id)
        except AuthrelayClientError as exc:
            if not is_model_error(exc):
                raise
            return _message(parsed, error_text(exc))
        return _message(parsed, result_text(response.data))
