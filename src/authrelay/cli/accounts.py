"""`authrelay accounts …`: connected accounts (one user's credentials for one connection)
and the authorization links that let users connect them, on top of the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authrelay.cli import common
from authrelay.cli.accounts_import import import_accounts
from authrelay.cli.common import JsonOpt, ProfileOpt, YesOpt
from authrelay_client.wire import AuthorizationDetailsInput

if TYPE_CHECKING:
    from authrelay_client.models import ConnectedAccount


app = typer.Typer(
    help="Connected accounts: list, get, create, update, delete, link, import.",
    no_args_is_help=True,
)
app.command("import")(import_accounts)

ConnectionOpt = Annotated[
    str | None,
    typer.Option("--connection", "-c", help="Connection name.", show_default=False),
]
IdentifierOpt = Annotated[
    str | None,
    typer.Option("--identifier", help="The user's identifier (e.g. an email).", show_default=False),
]
IdOpt = Annotated[
    str | None,
    typer.Option(
        "--id", help="The account id (instead of --connection/--identifier).", show_default=False
    ),
]
CredentialOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--credential",
        help="A static credential field: NAME=VALUE, or NAME alone to read its value from a "
        "prompt or standard input (e.g. --credential api_key).",
        show_default=False,
    ),
]
ApiConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--api-config", help="KEY=VALUE for the account's api_config.", show_default=False
    ),
]
COLUMNS = ("connection", "identifier", "status", "type", "id")


def _row(a: ConnectedAccount) -> list[str]:
    return [a.connector, a.identifier, a.status, a.authorization_type, a.id]


def _who(connection: str | None, identifier: str | None, account_id: str | None) -> None:
    if account_id is None and (connection is None or identifier is None):
        raise typer.BadParameter("give --connection and --identifier, or --id")


def _credentials(values: list[str] | None) -> AuthorizationDetailsInput | None:
    if not values:
        return None
    details: dict[str, str] = {}
    prompted = [v for v in values if "=" not in v]
    if len(prompted) > 1:
        raise typer.BadParameter(
            "only one --credential can be read from the prompt or standard input",
            param_hint="--credential",
        )
    for raw in values:
        if "=" in raw:
            details.update(common.pairs([raw], "--credential"))
        else:
            details[raw] = common.read_secret(raw)
    return {"static_auth": {"details": details}}


def _show(account: ConnectedAccount, as_json: bool, message: str) -> None:
    if as_json:
        common.print_json({"ok": True, "connected_account": common.as_dict(account)})
        return
    common.print_table(COLUMNS, [_row(account)])
    typer.echo(f"✅ {message}")


@app.command("list")
def list_accounts(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List connected accounts (never their credentials)."""
    with common.client(profile) as (sdk, _):
        rows = sdk.connected_accounts.list(connector=connection, identifier=identifier)
    if as_json:
        common.print_json([common.as_dict(a) for a in rows])
        return
    common.print_table(COLUMNS, [_row(a) for a in rows])
    typer.echo(f"✅ {len(rows)} connected account(s)")


@app.command("get")
def get_account(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    account_id: IdOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one connected account (without credential values)."""
    _who(connection, identifier, account_id)
    with common.client(profile) as (sdk, _):
        account = common.as_dict(sdk.connected_accounts.get(connection, identifier, id=account_id))
    common.print_json(account if not as_json else {"ok": True, "connected_account": account})


@app.command("create")
def create_account(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    credential: CredentialOpt = None,
    api_config: ApiConfigOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a connected account: with --credential for API key, basic, bearer and token
    exchange connections; without, an OAuth account waits for its user (see `accounts link`)."""
    _who(connection, identifier, None)
    assert connection is not None and identifier is not None
    details = _credentials(credential)
    config = common.pairs(api_config, "--api-config") or None
    with common.client(profile) as (sdk, creds):
        common.announce(creds)
        account = sdk.connected_accounts.create(connection, identifier, details, config)
    _show(account, as_json, f"created connected account {identifier} on {connection}")


@app.command("update")
def update_account(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    account_id: IdOpt = None,
    credential: CredentialOpt = None,
    api_config: ApiConfigOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace an account's credentials and/or merge into its api_config."""
    _who(connection, identifier, account_id)
    details = _credentials(credential)
    config = common.pairs(api_config, "--api-config") or None
    if details is None and config is None:
        raise typer.BadParameter("nothing to change: give --credential or --api-config")
    with common.client(profile) as (sdk, creds):
        common.announce(creds)
        account = sdk.connected_accounts.update(
            connection, identifier, details, config, id=account_id
        )
    _show(account, as_json, f"updated connected account {account.identifier}")


@app.command("delete")
def delete_account(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    account_id: IdOpt = None,
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a connected account and its credentials."""
    _who(connection, identifier, account_id)
    with common.client(profile) as (sdk, creds):
        account = common.as_dict(sdk.connected_accounts.get(connection, identifier, id=account_id))
        question = f"Delete {account['identifier']} on {account['connector']}?"
        if not common.confirm(question, yes, creds):
            raise common.fail(common.NOT_CONFIRMED, as_json)
        sdk.connected_accounts.delete(id=account["id"])
    common.ok(f"deleted connected account {account['identifier']}", as_json, id=account["id"])


@app.command("link")
def link_account(
    connection: ConnectionOpt = None,
    identifier: IdentifierOpt = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help="Opaque value handed back after connecting.", show_default=False
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the link in a browser as well.")
    ] = False,
    api_config: ApiConfigOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a single-use authorization link (magic link) for the user and print it; the
    account is created (PENDING_AUTH) when absent. `--api-config tenant=acme` gives account
    fields the provider's OAuth URLs use (else the hosted page asks for them)."""
    _who(connection, identifier, None)
    assert connection is not None and identifier is not None
    config = common.pairs(api_config, "--api-config") or None
    with common.client(profile) as (sdk, _):
        link = sdk.actions.get_authorization_link(connection, identifier, state, api_config=config)
    expiry = link.expiry.isoformat() if link.expiry else None
    if as_json:
        common.print_json({"ok": True, "link": link.link, "expiry": expiry})
    else:
        typer.echo(link.link)
        typer.echo(f"✅ works once, until {expiry}", err=True)
    if open_browser:
        import webbrowser

        if not webbrowser.open(link.link):
            raise common.fail("no browser could be opened; open the link above", as_json)
