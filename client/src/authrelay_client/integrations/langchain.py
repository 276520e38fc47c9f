"""authrelay's tools as LangChain tools (`pip install 'authrelay-client[langchain]'`).

    from authrelay_client.integrations.langchain import get_tools
    tools = get_tools(client, identifier="user@example.com")
    model = ChatOpenAI(...).bind_tools(tools)
    ...
    for call in ai_message.tool_calls:
        messages.append(by_name[call["name"]].invoke(call))   # a ToolMessage

Each tool is a `StructuredTool` whose `args_schema` is the tool's `input_schema` (JSON
Schema, as the model sees it) and whose run calls `POST /api/v1/execute_tool` through the
SDK on the user's connected account: `invoke` with a `Client`, `ainvoke` with an
`AsyncClient` (or, without one, the sync call in a worker thread). The answer is the
message content (compact JSON) and the artifact `{"data", "execution_id"}`. Errors the
model can act on (inputs that do not fit, named one by one; a deleted tool; an inactive
account; the upstream's error) come back as the content of an error `ToolMessage`, never as
an exception; refused API credentials and an unreachable server are raised."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from langchain_core.tools import StructuredTool, ToolException

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
from authrelay_client.models import ExecuteToolResponse

__all__ = ["AuthrelayStructuredTool", "aget_tools", "get_tools", "to_structured_tool"]

Answer = tuple[str, dict[str, Any]]


class AuthrelayStructuredTool(StructuredTool):
    """A `StructuredTool` that hands its whole input to the call as one mapping, so inputs
    named like LangChain's own keywords (`config`, `run_manager`, `callbacks`) reach the
    tool instead of being taken by LangChain."""

    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        parsed = self._parse_input(tool_input, tool_call_id)
        if not isinstance(parsed, dict):  # refused by _parse_input for JSON-schema tools
            raise ToolException("the input must be a JSON object")
        return cast("tuple[str, ...]", (dict(parsed),)), {}


def _answer(response: ExecuteToolResponse) -> Answer:
    return result_text(response.data), {
        "data": response.data,
        "execution_id": response.execution_id,
    }


def _model_error(exc: AuthrelayClientError) -> ToolException:
    if is_model_error(exc):
        return ToolException(error_text(exc))
    raise exc


def to_structured_tool(
    tool: AgentTool,
    client: Client | None = None,
    async_client: AsyncClient | None = None,
    *,
    agent_run_id: str | None = None,
) -> AuthrelayStructuredTool:
    """One `AgentTool` as a LangChain tool running on `client` (sync) and/or
    `async_client` (async); at least one is needed."""
    if client is None and async_client is None:
        raise ValueError("pass a Client, an AsyncClient or both")

    def run(params: Mapping[str, Any]) -> Answer:
        assert client is not None
        try:
            return _answer(execute(client, tool, params, agent_run_id))
        except AuthrelayClientError as exc:
            raise _model_error(exc) from exc

    async def arun(params: Mapping[str, Any]) -> Answer:
        assert async_client is not None
        try:
            return _answer(await aexecute(async_client, tool, params, agent_run_id))
        except AuthrelayClientError as exc:
            raise _model_error(exc) from exc

    return AuthrelayStructuredTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.input_schema,
        func=run if client is not None else None,
        coroutine=arun if async_client is not None else None,
        response_format="content_and_artifact",
        handle_tool_error=True,
        metadata={
            "authrelay_tool": tool.tool_name,
            "provider": tool.provider,
            "connected_account_id": tool.connected_account_id,
            "annotations": tool.annotations,
        },
    )


def get_tools(
    client: Client,
    *,
    identifier: str | None = None,
    connected_account_id: str | None = None,
    connector: str | None = None,
    providers: Iterable[str] | None = None,
    tool_names: Iterable[str] | None = None,
    async_client: AsyncClient | None = None,
    agent_run_id: str | None = None,
) -> list[AuthrelayStructuredTool]:
    """The tools one end user can call now, as LangChain tools: for `identifier` one per
    ACTIVE connected account (narrowed to the `connector` connection when given) and tool
    of its provider; for `connected_account_id`, its provider's tools. Names are the
    tools' names (`{connection}__{tool}` when the user has two accounts of one provider),
    at most 64 characters of `A-Za-z0-9_-`. With `async_client`, `ainvoke` runs on it."""
    who = scope(identifier, connected_account_id, connector, providers, tool_names)
    return [
        to_structured_tool(t, client, async_client, agent_run_id=agent_run_id)
        for t in load(client, who)
    ]


async def aget_tools(
    client: AsyncClient,
    *,
    identifier: str | None = None,
    connected_account_id: str | None = None,
    connector: str | None = None,
    providers: Iterable[str] | None = None,
    tool_names: Iterable[str] | None = None,
    sync_client: Client | None = None,
    agent_run_id: str | None = None,
) -> list[AuthrelayStructuredTool]:
    """`get_tools` read with an `AsyncClient`; the tools run on it (`ainvoke`), and on
    `sync_client` for `invoke` when given."""
    who = scope(identifier, connected_account_id, connector, providers, tool_names)
    return [
        to_structured_tool(t, sync_client, client, agent_run_id=agent_run_id)
        for t in await aload(client, who)
    ]
