"""`authrelay mcp …`: MCP configs (list, get, create, update, delete, accounts) and session
tokens (`mcp token`, `mcp connection-token`) printed ready to paste into an MCP client."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from authrelay.cli import common
from authrelay.cli.common import JsonOpt, ProfileOpt, YesOpt, out
from authrelay_client.wire import McpConnectionMappingInput

if TYPE_CHECKING:  # imported by the commands that use them (other commands start faster)
    from authrelay_client._client import Client
    from authrelay_client.models import McpConfig, McpSessionToken

app = typer.Typer(help="MCP server: configs and session tokens.", no_args_is_help=True)
configs_app = typer.Typer(help="MCP configs: list, get, create, update, delete.")
app.add_typer(configs_app, name="configs", no_args_is_help=True)

ConnectionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--connection",
        help="A connection the config serves, as NAME or NAME:tool1,tool2 (repeatable).",
    ),
]
IdentifierOpt = Annotated[str, typer.Option("--identifier", help="The end user's identifier.")]
ExpiryOpt = Annotated[
    int, typer.Option("--expiry", help="Token lifetime in seconds (60 to 86400).")
]


def _mappings(values: list[str]) -> list[McpConnectionMappingInput]:
    found: list[McpConnectionMappingInput] = []
    for value in values:
        name, _, tools = value.partition(":")
        found.append({"connection_name": name, "tools": [t for t in tools.split(",") if t.strip()]})
    return found


def _config_id(client: Client, key: str) -> str:
    """A config id from an id (`cfg_…`) or a name."""
    if key.startswith("cfg_"):
        return key
    for config in client.mcp.configs.list(name=key):
        if config.name == key.lower():
            return config.id
    return key  # the server answers 404 for it


def _show(config: McpConfig) -> None:
    from rich.text import Text

    # the console prints no markup (names are shown as they are): bold as a style
    out.print(Text.assemble((config.name, "bold"), f" ({config.id}) {config.access_level}"))
    out.print(f"  url: {config.mcp_server_url}")
    for mapping in config.connection_tool_mappings:
        tools = ", ".join(mapping.tools) or "all tools"
        out.print(f"  {mapping.connection_name} ({mapping.provider}): {tools}")


@configs_app.command("list")
def list_configs(profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """The environment's MCP configs."""
    with common.client(profile) as (client, _):
        configs = client.mcp.configs.list()
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in configs], indent=2))
        return
    from rich.table import Table

    table = Table("name", "id", "access", "connections")
    for c in configs:
        names = ", ".join(m.connection_name for m in c.connection_tool_mappings)
        table.add_row(c.name, c.id, c.access_level, names)
    out.print(table)
    out.print(f"{len(configs)} config(s)")


@configs_app.command("get")
def get_config(
    config: Annotated[str, typer.Argument(help="Config id (cfg_…) or name.")],
    profile: ProfileOpt = None,
) -> None:
    """One MCP config as JSON."""
    with common.client(profile) as (client, _):
        found = client.mcp.configs.get(_config_id(client, config))
    typer.echo(json.dumps(found.model_dump(mode="json"), indent=2))


@configs_app.command("create")
def create_config(
    name: Annotated[str, typer.Argument(help="Name: a-z, 0-9, '-' and '_'.")],
    connection: ConnectionOpt = None,
    description: Annotated[str, typer.Option("--description")] = "",
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Serve only read-only tools.")
    ] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an MCP config serving the given connections."""
    with common.client(profile) as (client, _):
        made = client.mcp.configs.create(
            name,
            _mappings(connection or []),
            description=description,
            access_level="READ_ONLY" if read_only else "FULL",
        )
    if as_json:
        common.ok("created", True, config=made.model_dump(mode="json"))
        return
    common.ok(f"created MCP config {made.name} ({made.id})", False)
    _show(made)


@configs_app.command("update")
def update_config(
    config: Annotated[str, typer.Argument(help="Config id (cfg_…) or name.")],
    connection: ConnectionOpt = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    access_level: Annotated[
        str | None, typer.Option("--access-level", help="FULL or READ_ONLY.")
    ] = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an MCP config's connections (all replaced), description or access level."""
    with common.client(profile) as (client, _):
        changed = client.mcp.configs.update(
            _config_id(client, config),
            connections=_mappings(connection) if connection else None,
            description=description,
            access_level=access_level,
        )
    if as_json:
        common.ok("updated", True, config=changed.model_dump(mode="json"))
        return
    common.ok(f"updated MCP config {changed.name}", False)
    _show(changed)


@configs_app.command("delete")
def delete_config(
    config: Annotated[str, typer.Argument(help="Config id (cfg_…) or name.")],
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete an MCP config (its URL stops answering; tokens for it stop working)."""
    with common.client(profile) as (client, _):
        if not common.confirm(f"Delete MCP config {config!r}?", yes, explain=True):
            raise typer.Exit(1)
        client.mcp.configs.delete(_config_id(client, config))
    common.ok(f"deleted {config}", as_json, deleted=config)


@configs_app.command("accounts")
def config_accounts(
    config: Annotated[str, typer.Argument(help="Config id (cfg_…) or name.")],
    identifier: IdentifierOpt,
    auth_links: Annotated[
        bool, typer.Option("--auth-links", help="Make a fresh authorization link for each.")
    ] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The end user's account on each connection of the config."""
    with common.client(profile) as (client, _):
        states = client.mcp.configs.connected_accounts(
            _config_id(client, config), identifier, include_auth_link=auth_links
        )
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in states], indent=2))
        return
    from rich.table import Table

    table = Table("connection", "provider", "status", "authorization link")
    for s in states:
        table.add_row(
            s.connection_name,
            s.provider,
            s.connected_account_status or "none",
            s.authentication_link,
        )
    out.print(table)


def _print_token(token: McpSessionToken, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(token.model_dump(mode="json"), indent=2))
        return
    client_config = {
        "mcpServers": {
            "authrelay": {
                "type": "http",
                "url": token.mcp_server_url,
                "headers": {"Authorization": f"Bearer {token.token}"},
            }
        }
    }
    typer.echo(f"URL:     {token.mcp_server_url}")
    typer.echo(f"Token:   {token.token}")
    typer.echo(f"Expires: {token.expires_at.isoformat() if token.expires_at else ''}")
    typer.echo("For an MCP client's configuration file:")
    typer.echo(json.dumps(client_config, indent=2))


@app.command("token")
def config_token(
    config: Annotated[str, typer.Argument(help="Config id (cfg_…) or name.")],
    identifier: IdentifierOpt,
    expiry: ExpiryOpt = 3600,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A session token for the config's MCP URL: prints the URL and the token."""
    with common.client(profile) as (client, _):
        token = client.mcp.create_session_token(_config_id(client, config), identifier, expiry)
    _print_token(token, as_json)


@app.command("connection-token")
def connection_token(
    connection: Annotated[str, typer.Argument(help="Connection name.")],
    identifier: IdentifierOpt,
    expiry: ExpiryOpt = 3600,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A session token for one connection's MCP URL (/mcp/v3/connections/NAME)."""
    with common.client(profile) as (client, _):
        token = client.mcp.create_connection_token(connection, identifier, expiry)
    _print_token(token, as_json)
