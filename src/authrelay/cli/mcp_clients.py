"""`authrelay mcp clients …`: the OAuth clients MCP hosts registered with an environment's
authorization server (dynamically, by client ID metadata document, or pre-registered): list,
disable, enable, delete. Like `env`, these run on the server's own database."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from authrelay.auth.principal import Principal
from authrelay.cli._lazy import LazyModule
from authrelay.cli.local import (
    DatabaseUrl,
    DataDir,
    console,
    run_in_environment,
    settings_for,
)

if TYPE_CHECKING:
    from authrelay.mcp import oauth_clients
else:  # imported when a command first needs them (fast --help)
    oauth_clients = LazyModule("authrelay.mcp.oauth_clients")

app = typer.Typer(
    help="OAuth clients of the MCP authorization server: list, disable, enable, delete.",
    no_args_is_help=True,
)
EnvArg = Annotated[str, typer.Argument(help="Environment name.")]
CLI_ACTOR = "cli"  # the audit log's actor of these commands
ClientArg = Annotated[str, typer.Argument(help="The client_id (an mcpc_… id or a URL).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("list")
def clients_list(
    environment: EnvArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOpt = False,
) -> None:
    """List the environment's MCP OAuth clients."""
    settings = settings_for(data_dir, database_url)
    rows = run_in_environment(environment, settings, oauth_clients.list_clients)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("client id", "kind", "name", "redirect URIs", "disabled")
    for row in rows:
        table.add_row(
            row["client_id"],
            row["kind"],
            row["client_name"],
            "\n".join(row["redirect_uris"]),
            "yes" if row["disabled"] else "",
        )
    console.print(table)


def _set(environment: str, client_id: str, disabled: bool, data_dir: Any, url: Any) -> None:
    settings = settings_for(data_dir, url)

    async def work(session: Any, env_id: str) -> Any:
        return await oauth_clients.set_disabled(
            session, Principal(env_id, CLI_ACTOR), client_id, disabled, lambda _moved: None
        )

    run_in_environment(environment, settings, work)
    console.print(f"✅ {'disabled' if disabled else 'enabled'} {client_id}", markup=False)


@app.command("disable")
def clients_disable(
    environment: EnvArg,
    client_id: ClientArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Disable a client: sign-ins and refreshes are refused, its grants end."""
    _set(environment, client_id, True, data_dir, database_url)


@app.command("enable")
def clients_enable(
    environment: EnvArg,
    client_id: ClientArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Enable a disabled client again."""
    _set(environment, client_id, False, data_dir, database_url)


@app.command("delete")
def clients_delete(
    environment: EnvArg,
    client_id: ClientArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a client and the refresh tokens it holds."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any, env_id: str) -> None:
        await oauth_clients.delete_client(
            session, Principal(env_id, CLI_ACTOR), client_id, lambda _moved: None
        )

    run_in_environment(environment, settings, work)
    console.print(f"✅ deleted {client_id}", markup=False)
