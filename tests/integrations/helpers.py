"""One end user with a connected account on a provider whose proxy_url is the recording
upstream, and tools of that provider: `items_` (path, query, header and body inputs),
`status_` (the upstream answers with the status it is given) and `conf_` (an input named
`config`, as LangChain calls one of its own keywords)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.tools import setup_provider, status_tool, tool_body
from tests.support.upstream import RecordingUpstream


def config_tool(provider: str, name: str) -> dict[str, Any]:
    return tool_body(
        provider,
        name,
        method="GET",
        path="/conf/{config}",
        params={"config": {"in": "path"}, "run_manager": {"in": "query"}},
        input_schema={
            "type": "object",
            "properties": {"config": {"type": "string"}, "run_manager": {"type": "string"}},
            "required": ["config"],
            "additionalProperties": False,
        },
        description="Read one configuration",
    )


def setup_user(
    api: httpx.Client, upstream: RecordingUpstream, unique: str, who: str
) -> tuple[str, str, dict[str, Any]]:
    """(provider, connection, connected account) with the three tools."""
    provider, conn, account = setup_provider(api, upstream, unique, who)
    for body in (
        tool_body(provider, f"items_{unique}"),
        status_tool(provider, f"status_{unique}"),
        config_tool(provider, f"conf_{unique}"),
    ):
        created = api.post("/api/v1/tools", json=body)
        assert created.status_code == 201, created.text
    return provider, conn, account


def second_account(
    api: httpx.Client, provider: str, connection: str, who: str, key: str
) -> dict[str, Any]:
    """Another connection of `provider` and `who`'s account on it (API key `key`)."""
    response = api.post(
        "/api/v1/connections",
        params={"flags.is_app": "true"},
        json={"provider_key": provider, "key_id": connection},
    )
    assert response.status_code == 201, response.text
    body = {
        "connector": connection,
        "identifier": who,
        "connected_account": {
            "authorization_details": {"static_auth": {"details": {"api_key": key}}}
        },
    }
    response = api.post("/api/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["connected_account"])
