"""A tool upstream that echoes the request it got (issue 24, item 3): the MCP tool result,
which goes into a model's context, carries the account's API key in no encoding."""

from __future__ import annotations

import json

from tests.support.echo_upstream import ENCODINGS, EchoUpstream, leaks
from tests.support.mcp import mcp_session, session_token
from tests.support.servers import Server

API_KEY = 'mk/Echo+Mcp="1"&k~key'


async def test_an_echoed_api_key_never_reaches_the_mcp_tool_result(
    server: Server, dev_client: dict[str, str], echo: EchoUpstream, unique: str
) -> None:
    pattern = {
        "type": "API_KEY",
        "fields": [{"field_name": "api_key", "input_type": "password", "required": True}],
    }
    definition = {
        "display_name": f"Echo Mcp {unique}",
        "auth_patterns": [pattern],
        "proxy_url": f"{echo.url}/api",
        "proxy_enabled": True,
    }
    with server.api(dev_client) as api:
        created = api.post("/api/v1/custom-providers", json=definition)
        assert created.status_code == 201, created.text
        provider = created.json()["provider"]["identifier"]
        conn = f"c-{provider}"
        assert (
            api.post(
                "/api/v1/connections", json={"provider_key": provider, "key_id": conn}
            ).status_code
            == 201
        )
        account = {
            "connector": conn,
            "identifier": "max",
            "connected_account": {
                "authorization_details": {"static_auth": {"details": {"api_key": API_KEY}}}
            },
        }
        assert api.post("/api/v1/connected_accounts", json=account).status_code == 201
        tool = {
            "provider": provider,
            "definition": {
                "name": f"echo_{unique}",
                "description": "Fails, echoing its request",
                "input_schema": {
                    "type": "object",
                    "properties": {"status": {"type": "integer"}, "encoding": {"type": "string"}},
                    "required": ["status", "encoding"],
                },
            },
            "binding": {
                "method": "GET",
                "path": "/fail/{status}/{encoding}",
                "params": {"status": {"in": "path"}, "encoding": {"in": "path"}},
            },
        }
        assert api.post("/api/v1/tools", json=tool).status_code == 201
        config = api.post(
            "/api/v1/mcp/configs",
            json={
                "name": f"cfg-echo-{unique}",
                "access_level": "FULL",
                "connection_tool_mappings": [{"connection_name": conn}],
            },
        )
        assert config.status_code == 201, config.text
        url = config.json()["config"]["mcp_server_url"]
        token = session_token(api, config.json()["config"]["id"], "max")
    seen = []
    async with mcp_session(url, token) as session:
        for encoding in ENCODINGS:
            result = await session.call_tool(
                f"echo_{unique}", {"status": 400, "encoding": encoding}
            )
            assert result.is_error is True
            text = result.content[0].text  # type: ignore[union-attr]
            detail = json.loads(text)["details"][-1]
            assert detail["source"] == "upstream" and "[redacted]" in detail["body"]["got"]
            seen += [text, detail["body"]["got"]]
    assert leaks("\n".join(seen), [API_KEY]) == []
    assert leaks(server.log_text(), [API_KEY]) == []
