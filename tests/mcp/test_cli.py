"""`authrelay mcp …` against a real server: configs create/list/get/update/accounts/delete,
and `mcp token` printing a URL and token that open the MCP server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.mcp.test_server import INITIALIZE, MCP_HEADERS
from tests.support.mcp import setup_config
from tests.support.profiles import cli_wide as cli
from tests.support.profiles import profiles  # noqa: F401 (fixture)
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


def test_mcp_cli(
    profiles: Path,  # noqa: F811
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    with server.api(dev_client) as api:
        _, conn, _ = setup_config(api, upstream, unique, "max")
    name = f"cli-{unique}"
    made = cli(
        profiles,
        "mcp",
        "configs",
        "create",
        name,
        "--connection",
        f"{conn}:items_{unique},status_{unique}",
        "--description",
        "from the CLI",
        "--json",
        check=True,
    )
    config = json.loads(made.stdout)["config"]
    assert config["connection_tool_mappings"][0]["tools"] == [f"items_{unique}", f"status_{unique}"]
    listed = json.loads(cli(profiles, "mcp", "configs", "list", "--json", check=True).stdout)
    assert config["id"] in {c["id"] for c in listed}
    table = cli(profiles, "mcp", "configs", "list", check=True).stdout
    assert name in table
    got = json.loads(cli(profiles, "mcp", "configs", "get", name, check=True).stdout)
    assert got["id"] == config["id"]
    updated = cli(
        profiles, "mcp", "configs", "update", name, "--access-level", "READ_ONLY", check=True
    )
    assert "READ_ONLY" in updated.stdout
    bad = cli(profiles, "mcp", "configs", "update", name, "--access-level", "ALL")
    assert bad.returncode == 1 and "access_level" in bad.stderr + bad.stdout
    accounts = cli(
        profiles, "mcp", "configs", "accounts", name, "--identifier", "max", check=True
    ).stdout
    assert "ACTIVE" in accounts
    printed = cli(profiles, "mcp", "token", name, "--identifier", "max", check=True).stdout
    url = printed.split("URL:", 1)[1].split()[0]
    token = printed.split("Token:", 1)[1].split()[0]
    assert url == config["mcp_server_url"]
    assert '"mcpServers"' in printed
    answer = httpx.post(
        url, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    short = cli(profiles, "mcp", "token", name, "--identifier", "max", "--expiry", "5")
    assert short.returncode == 1 and "expiry" in short.stderr + short.stdout
    as_json = json.loads(
        cli(
            profiles, "mcp", "connection-token", conn, "--identifier", "max", "--json", check=True
        ).stdout
    )
    assert as_json["mcp_server_url"] == f"{server.url}/mcp/v3/connections/{conn}"
    cli(profiles, "mcp", "configs", "delete", name, "--yes", check=True)
    # printed for a person: the name in bold, never Rich's markup as text
    shown = cli(profiles, "mcp", "configs", "create", f"{name}-2", "--connection", conn, check=True)
    assert "[bold]" not in shown.stdout and "[/bold]" not in shown.stdout
    assert f"{name}-2 (cfg_" in shown.stdout
    cli(profiles, "mcp", "configs", "delete", f"{name}-2", "--yes", check=True)
    missing = cli(profiles, "mcp", "configs", "get", config["id"])
    assert missing.returncode == 1
