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
from authrelay.cli.local import DatabaseUrl, DataDir, console, fail, settings_for, with_session

if TYPE_CHECKING:
    import asyncio

    from authrelay.mcp import grants
    from authrelay.store import environments as envs
else:  # imported when a command first needs them (fast --help)
    asyncio = LazyModule("asyncio")
    envs = LazyModule("authrelay.store.environments")
    grants = LazyModule("authrelay.mcp.grants")

CLI_ACTOR = "cli"  # the audit log's actor of these commands
EnvArg = Annotated[str, typer.Argument(help="Environment name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

app = typer.Typer(
    help="Grants users gave MCP clients on the consent page: list, revoke.",
    no_args_is_help=True,
)


def _run(environment: str, settings: Any, work: Any) -> Any:
    """`work(session, environment id)` on the server's database; a missing environment or
    grant ends the command with its message."""

    async def in_env(session: Any) -> Any:
        env = await envs.get_environment(session, environment)
        if env is None:
            return None
        return (await work(session, env.id),)

    from authrelay.errors import NotFound

    try:
        found = asyncio.run(with_session(settings, in_env))
    except NotFound as exc:
        raise fail(exc.message) from None
    if found is None:
        raise fail(f"no environment named {environment!r} (see: authrelay env list)")
    return found[0]


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

    rows = _run(environment, settings, work)
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

    _run(environment, settings, work)
    console.print(f"✅ revoked {grant_id}", markup=False)
