"""`authrelay mcp grants …`: what users allowed MCP clients (the consent page's grants):
list them (per user), revoke one. Like `env`, these run on the server's own database; a
revocation moves the cache generation, so running servers refuse the grant's access tokens
within `AUTHRELAY_CACHE_POLL_SECONDS`."""

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
    from authrelay.mcp import grants
else:  # imported when a command first needs them (fast --help)
    grants = LazyModule("authrelay.mcp.grants")

CLI_ACTOR = "cli"  # the audit log's actor of these commands
EnvArg = Annotated[str, typer.Argument(help="Environment name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

app = typer.Typer(
    help="Grants users gave MCP clients on the consent page: list, revoke.",
    no_args_is_help=True,
)


@app.command("list")
def grants_list(
    environment: EnvArg,
    identifier: Annotated[
        str | None, typer.Option("--identifier", help="Only this user's grants.")
    ] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Revoked grants too.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOpt = False,
) -> None:
    """List the environment's live MCP grants (or one user's)."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any, env_id: str) -> Any:
        return await grants.list_grants(session, env_id, identifier, include_revoked)

    rows = run_in_environment(environment, settings, work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("grant id", "user", "client", "config", "created", "last used", "revoked")
    for row in rows:
        table.add_row(
            row["id"],
            row["identifier"],
            row["client_name"] or row["client_id"],
            row["config_id"],
            row["created_at"],
            row["last_used_at"],
            row["revoked_at"],
        )
    console.print(table)


@app.command("revoke")
def grants_revoke(
    environment: EnvArg,
    grant_id: Annotated[str, typer.Argument(help="The grant's id (mcpg_…).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a grant: its refresh tokens end now, its access tokens at their next use."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any, env_id: str) -> Any:
        principal = Principal(env_id, CLI_ACTOR)
        return await grants.revoke(session, lambda _moved: None, principal, grant_id)

    run_in_environment(environment, settings, work)
    console.print(f"✅ revoked {grant_id}", markup=False)
