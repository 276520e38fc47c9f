"""`authrelay env …`: environments and their API clients, on the server's own database
(these commands run where the server's data is, not through the API)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from authrelay.cli._lazy import LazyModule
from authrelay.cli.local import (
    DatabaseUrl,
    DataDir,
    console,
    environment_url,
    fail,
    settings_for,
    with_session,
)

if TYPE_CHECKING:
    import asyncio

    from authrelay.config import Settings
    from authrelay.store import db
    from authrelay.store import environments as envs
else:  # imported when a command first needs them (fast --help)
    asyncio = LazyModule("asyncio")
    db = LazyModule("authrelay.store.db")
    envs = LazyModule("authrelay.store.environments")

env_app = typer.Typer(help="Environments and their API clients.", no_args_is_help=True)


@env_app.command("list")
def env_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List environments."""
    settings = settings_for(data_dir, database_url)
    rows: list[envs.EnvironmentInfo] = asyncio.run(with_session(settings, envs.list_environments))
    data = [
        {
            "name": e.name,
            "id": e.id,
            "host": e.host,
            "environment_url": environment_url(settings, e),
        }
        for e in rows
    ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    table = Table("name", "id", "environment URL")
    for item in data:
        table.add_row(item["name"], item["id"], item["environment_url"] or "(server not running)")
    console.print(table)


@env_app.command("create")
def env_create(
    name: Annotated[str, typer.Argument(help="Environment name (letters, digits, - and _).")],
    host: Annotated[
        str | None, typer.Option(help="Bind the environment to this host name.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an environment."""
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise typer.BadParameter("use letters, digits, '-' and '_' (at most 64)", param_hint="NAME")
    settings = settings_for(data_dir, database_url)

    async def work(session: Any) -> envs.EnvironmentInfo | None:
        if await envs.get_environment(session, name) is not None:
            return None
        return await envs.create_environment(session, name, host.lower() if host else None)

    env = asyncio.run(with_session(settings, work))
    if env is None:
        raise fail(f"environment {name!r} already exists")
    url = environment_url(settings, env) or "(server not running)"
    console.print(f"✅ created environment {env.name} ({env.id}): {url}")


@env_app.command("create-client")
def env_create_client(
    environment: Annotated[str, typer.Argument(help="Environment name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    save_profile: Annotated[
        str | None,
        typer.Option(
            "--save-profile",
            help="Store the new client as this CLI profile (secret in a 0600 file, not shown).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create an API client; its secret is shown only now (or stored with --save-profile)."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any) -> envs.NewClient | None:
        from authrelay.auth.clients import issue_client

        env = await envs.get_environment(session, environment)
        return None if env is None else await issue_client(session, env)

    created: envs.NewClient | None = asyncio.run(with_session(settings, work))
    if created is None:
        raise fail(f"no environment named {environment!r} (see: authrelay env list)")
    if save_profile is not None:
        _save_profile(save_profile, settings, created, as_json)
        return
    data = {
        "environment": created.environment.name,
        "environment_url": environment_url(settings, created.environment),
        "client_id": created.client_id,
        "client_secret": created.client_secret,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        console.print(f"{key}: {value}")
    console.print("The client secret is shown only once; store it now.")


def _save_profile(name: str, settings: Settings, created: envs.NewClient, as_json: bool) -> None:
    from authrelay.cli.profiles import Profile, ProfileError, ProfileStore

    url = environment_url(settings, created.environment)
    if url is None:
        raise fail(
            "no running server recorded its URL for this data (start authrelay serve first, "
            "or set AUTHRELAY_PUBLIC_URL)"
        )
    try:
        ProfileStore().add(Profile(name, url, created.client_id), created.client_secret)
    except ProfileError as exc:
        raise fail(str(exc)) from None
    data = {
        "profile": name,
        "environment": created.environment.name,
        "environment_url": url,
        "client_id": created.client_id,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console.print(
        f"✅ API client {created.client_id} for {created.environment.name} ({url}) "
        f"saved as profile {name}"
    )


@env_app.command("list-clients")
def env_list_clients(
    environment: Annotated[str, typer.Argument(help="Environment name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the API clients of an environment (ids only; secrets are never stored)."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any) -> list[dict[str, str]] | None:
        env = await envs.get_environment(session, environment)
        if env is None:
            return None
        return [
            {"client_id": c.id, "created_at": db.as_utc(c.created_at).isoformat()}
            for c in await envs.list_clients(session, env)
        ]

    rows = asyncio.run(with_session(settings, work))
    if rows is None:
        raise fail(f"no environment named {environment!r}")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("client id", "created")
    for row in rows:
        table.add_row(row["client_id"], row["created_at"])
    console.print(table)


@env_app.command("delete-client")
def env_delete_client(
    client_id: Annotated[str, typer.Argument(help="The client id to delete.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete an API client; its tokens stop working at once."""
    settings = settings_for(data_dir, database_url)

    async def work(session: Any) -> bool:
        return await envs.delete_client(session, client_id)

    if not asyncio.run(with_session(settings, work)):
        raise fail(f"no API client {client_id!r}")
    console.print(f"✅ deleted API client {client_id}")


@env_app.command("login")
def env_login(
    environment: Annotated[str, typer.Argument(help="Environment name.")],
    handoff_url: Annotated[
        str | None,
        typer.Option(
            "--handoff-url",
            help="Sign MCP users in through the team's app at this URL (login hand-off); "
            "prints a new hand-off secret once.",
            show_default=False,
        ),
    ] = None,
    handoff_jwks_url: Annotated[
        str | None,
        typer.Option(
            "--handoff-jwks-url",
            help="Also accept hand-off assertions that are JWTs signed with a key of the "
            "app's JWKS at this URL ('' turns it off).",
            show_default=False,
        ),
    ] = None,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            "--oidc-issuer",
            help="Sign MCP users in with this OpenID Connect provider (instead of a hand-off).",
            show_default=False,
        ),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option(
            "--oidc-client-id", help="authrelay's client id at the provider.", show_default=False
        ),
    ] = None,
    oidc_client_secret_stdin: Annotated[
        bool,
        typer.Option(
            "--oidc-client-secret-stdin",
            help="Read the client secret at the provider from standard input.",
        ),
    ] = False,
    identifier_claim: Annotated[
        str | None,
        typer.Option(
            "--identifier-claim",
            help="The ID token claim naming the user (default email; e.g. sub).",
            show_default=False,
        ),
    ] = None,
    dcr: Annotated[
        bool | None,
        typer.Option(
            "--dcr/--no-dcr", help="Allow dynamic client registration.", show_default=False
        ),
    ] = None,
    cimd: Annotated[
        bool | None,
        typer.Option(
            "--cimd/--no-cimd",
            help="Allow client ID metadata documents (https client_id URLs).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """How MCP users sign in to this environment (docs/mcp-authorization.md): set the login
    hand-off URL (its secret is shown only now), or an OpenID Connect provider, or client
    registration; without options, show the settings (never a secret stored earlier)."""
    from authrelay.errors import InvalidArgument
    from authrelay.mcp import oauth_settings
    from authrelay.mcp.authserver import oidc_redirect_uri
    from authrelay.vault.keyring import load_keyring

    if handoff_url is not None and oidc_issuer is not None:
        raise fail("use either --handoff-url or --oidc-issuer: users sign in one way")
    if oidc_issuer is None and (oidc_client_id or oidc_client_secret_stdin or identifier_claim):
        raise fail(
            "--oidc-client-id, --oidc-client-secret-stdin and --identifier-claim "
            "go with --oidc-issuer"
        )
    client_secret = sys.stdin.read().strip() if oidc_client_secret_stdin else None
    settings = settings_for(data_dir, database_url)
    env_keys = settings.master_keys.get_secret_value() if settings.master_keys else None

    async def work(session: Any) -> tuple[str, str, oauth_settings.SignIn] | None:
        env = await envs.get_environment(session, environment)
        if env is None:
            return None
        keyring = load_keyring(env_keys, settings.data_dir, create=False)
        secret = ""
        if handoff_url is not None:  # with the JWKS URL, checked before either is written
            secret = await oauth_settings.set_handoff(
                session, keyring, env.id, handoff_url, handoff_jwks_url
            )
        elif handoff_jwks_url is not None:
            await oauth_settings.set_handoff_jwks(session, env.id, handoff_jwks_url)
        if oidc_issuer is not None:
            await oauth_settings.set_oidc(
                session,
                keyring,
                env.id,
                issuer=oidc_issuer,
                client_id=oidc_client_id or "",
                client_secret=client_secret,
                identifier_claim=identifier_claim,
            )
        if dcr is not None or cimd is not None:
            await oauth_settings.set_registration(session, env.id, dcr=dcr, cimd=cimd)
        return secret, env.id, await oauth_settings.load(session, keyring, env.id)

    try:
        found = asyncio.run(with_session(settings, work))
    except InvalidArgument as exc:
        raise fail(exc.message) from None
    if found is None:
        raise fail(f"no environment named {environment!r} (see: authrelay env list)")
    secret, env_id, sign_in = found
    data: dict[str, Any] = {
        "environment": environment,
        **oauth_settings.shown(sign_in, oidc_redirect_uri(settings.base_url, env_id)),
    }
    if secret:
        data["handoff_secret"] = secret
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        console.print(f"{key}: {value if value is not None else '(not set)'}", markup=False)
    if secret:
        console.print("The hand-off secret is shown only once; give it to the team's app now.")
