"""`authrelay`: run the server and administer its local data; the command tree is put
together here from one module per command group.

Commands that touch the server's data find it through ``--data-dir`` /
``AUTHRELAY_DATA_DIR`` (and ``DATABASE_URL`` for PostgreSQL).
"""

from __future__ import annotations

from typing import Annotated

import typer

from authrelay.cli import accounts as accounts_cli
from authrelay.cli import admin as admin_cli
from authrelay.cli import connections as connections_cli
from authrelay.cli import env as env_cli
from authrelay.cli import keys as keys_cli
from authrelay.cli import mcp as mcp_cli
from authrelay.cli import mcp_clients as mcp_clients_cli
from authrelay.cli import mcp_grants as mcp_grants_cli
from authrelay.cli import profile as profile_cli
from authrelay.cli import providers as providers_cli
from authrelay.cli import request as request_cli
from authrelay.cli import serve as serve_cli
from authrelay.cli import tools as tools_cli

app = typer.Typer(
    help="authrelay: a self-hostable agent auth server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(env_cli.env_app, name="env")
app.add_typer(serve_cli.db_app, name="db")
app.add_typer(keys_cli.keys_app, name="keys")
app.add_typer(profile_cli.app, name="profile")
app.add_typer(providers_cli.app, name="providers")
app.add_typer(tools_cli.app, name="tools")
app.add_typer(mcp_cli.app, name="mcp")
mcp_cli.app.add_typer(mcp_clients_cli.app, name="clients")
mcp_cli.app.add_typer(mcp_grants_cli.app, name="grants")
app.add_typer(connections_cli.app, name="connections")
app.add_typer(accounts_cli.app, name="accounts")
app.command("request")(request_cli.request_command)
app.add_typer(admin_cli.app, name="admin")
app.command()(serve_cli.serve)
app.command("status")(serve_cli.status)


def _version(value: bool) -> None:
    if value:
        from authrelay import __version__

        typer.echo(f"authrelay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """authrelay: a self-hostable agent auth server."""


def main() -> None:
    """The `authrelay` command: every error is one line (or one JSON object with --json)
    and a non-zero exit; a bad setting ends it with one line per problem naming the setting
    (exit status 2), never a traceback."""
    from authrelay.cli.errors import run
    from authrelay.cli.helptext import drop_flag_labels

    drop_flag_labels()
    run(_app_with_config_errors)


def _app_with_config_errors() -> None:
    try:
        app()
    except Exception as exc:
        from pydantic import ValidationError

        from authrelay.config import ConfigError, describe_validation_error

        if isinstance(exc, ConfigError):
            typer.echo(f"authrelay: configuration error: {exc}", err=True)
            raise SystemExit(2) from None
        if not isinstance(exc, ValidationError) or exc.title != "Settings":
            raise
        for line in describe_validation_error(exc):
            typer.echo(f"authrelay: configuration error: {line}", err=True)
        raise SystemExit(2) from None
