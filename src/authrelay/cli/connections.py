"""`authrelay connections …`: the environment's app connections, on top of the SDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from authrelay.cli import common
from authrelay.cli.common import JsonOpt, ProfileOpt, YesOpt
from authrelay_client.wire import ConnectionOAuthConfigInput

if TYPE_CHECKING:
    from authrelay_client.models import Connection


app = typer.Typer(
    help="Connections: list, get, create, update, enable, disable, delete.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Connection name (key_id) or id.")]
ClientIdOpt = Annotated[
    str | None, typer.Option("--client-id", help="OAuth client id.", show_default=False)
]
SecretEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--client-secret-env",
        help="Read the OAuth client secret from this environment variable.",
        show_default=False,
    ),
]
SecretStdinOpt = Annotated[
    bool,
    typer.Option(
        "--client-secret-stdin",
        help="Read the OAuth client secret from a prompt or standard input.",
    ),
]
ScopesOpt = Annotated[
    str | None,
    typer.Option("--scopes", help="OAuth scopes, comma separated.", show_default=False),
]


def _row(c: Connection) -> list[str]:
    return [c.key_id, c.provider_key, c.type, "yes" if c.enabled else "no", c.status, c.id]


COLUMNS = ("name", "provider", "type", "enabled", "status", "id")


def _show(connection: Connection, as_json: bool, message: str) -> None:
    if as_json:
        common.print_json({"ok": True, "connection": common.as_dict(connection)})
        return
    common.print_table(COLUMNS, [_row(connection)])
    typer.echo(f"✅ {message}")


def _oauth_config(
    client_id: str | None, secret_env: str | None, secret_stdin: bool, scopes: str | None
) -> ConnectionOAuthConfigInput | None:
    config: ConnectionOAuthConfigInput = {}
    if client_id is not None:
        config["client_id"] = client_id
    if secret_env is not None:
        value = os.environ.get(secret_env)
        if not value:
            raise typer.BadParameter(f"${secret_env} is not set", param_hint="--client-secret-env")
        config["client_secret"] = value
    elif secret_stdin:
        config["client_secret"] = common.read_secret("OAuth client secret")
    if scopes is not None:
        config["scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
    return config or None


@app.command("list")
def list_connections(
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only this provider's.", show_default=False)
    ] = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List connections."""
    with common.client(profile) as (sdk, _):
        rows = sdk.connections.list(provider=provider)
    if as_json:
        common.print_json([common.as_dict(c) for c in rows])
        return
    common.print_table(COLUMNS, [_row(c) for c in rows])
    typer.echo(f"✅ {len(rows)} connection(s)")


@app.command("get")
def get_connection(name: NameArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show one connection (never its client secret)."""
    with common.client(profile) as (sdk, _):
        connection = common.as_dict(sdk.connections.get(name))
    common.print_json(connection if not as_json else {"ok": True, "connection": connection})


@app.command("create")
def create_connection(
    provider: Annotated[str, typer.Argument(help="Provider identifier.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Connection name (default: the provider identifier).", show_default=False
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="OAUTH, API_KEY, BASIC, BEARER, TOKEN_EXCHANGE … (default: the provider's).",
            show_default=False,
        ),
    ] = None,
    client_id: ClientIdOpt = None,
    client_secret_env: SecretEnvOpt = None,
    client_secret_stdin: SecretStdinOpt = False,
    scopes: ScopesOpt = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a connection to a provider."""
    config = _oauth_config(client_id, client_secret_env, client_secret_stdin, scopes)
    with common.client(profile) as (sdk, creds):
        common.announce(creds)
        created = sdk.connections.create(
            provider, name, kind, config, enabled=False if disabled else None
        )
    _show(created, as_json, f"created connection {created.key_id}")


@app.command("update")
def update_connection(
    name: NameArg,
    client_id: ClientIdOpt = None,
    client_secret_env: SecretEnvOpt = None,
    client_secret_stdin: SecretStdinOpt = False,
    scopes: ScopesOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a connection's OAuth settings (only what is given)."""
    config = _oauth_config(client_id, client_secret_env, client_secret_stdin, scopes)
    if config is None:
        raise typer.BadParameter("nothing to change: give --client-id, a secret or --scopes")
    with common.client(profile) as (sdk, creds):
        common.announce(creds)
        updated = sdk.connections.update(name, oauth_config=config)
    _show(updated, as_json, f"updated connection {updated.key_id}")


def _toggle(name: str, enable: bool, profile: str | None, as_json: bool) -> None:
    with common.client(profile) as (sdk, creds):
        common.announce(creds)
        result = common.as_dict(
            sdk.connections.enable(name) if enable else sdk.connections.disable(name)
        )
    word = "enabled" if enable else "disabled"
    common.ok(f"connection {name} {word}", as_json, connection=name, enabled=result["enabled"])


@app.command("enable")
def enable_connection(name: NameArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a connection (proxied calls and links work again)."""
    _toggle(name, True, profile, as_json)


@app.command("disable")
def disable_connection(name: NameArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Disable a connection (proxied calls through it are refused)."""
    _toggle(name, False, profile, as_json)


@app.command("delete")
def delete_connection(
    name: NameArg,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete its connected accounts.")
    ] = False,
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a connection (with connected accounts only with --force)."""
    with common.client(profile) as (sdk, creds):
        connection = common.as_dict(sdk.connections.get(name))
        extra = " and all its connected accounts" if force else ""
        if not common.confirm(f"Delete connection {connection['key_id']}{extra}?", yes, creds):
            raise common.fail(common.NOT_CONFIRMED, as_json)
        sdk.connections.delete(connection["id"], force=force)
    common.ok(f"deleted connection {connection['key_id']}", as_json, id=connection["id"])
