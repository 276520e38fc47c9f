"""`authrelay`: run the server and administer its local data.

Commands that touch the server's data find it through ``--data-dir`` /
``AUTHRELAY_DATA_DIR`` (and ``DATABASE_URL`` for PostgreSQL).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from authrelay.cli import accounts as accounts_cli
from authrelay.cli import admin as admin_cli
from authrelay.cli import connections as connections_cli
from authrelay.cli import mcp as mcp_cli
from authrelay.cli import profile as profile_cli
from authrelay.cli import providers as providers_cli
from authrelay.cli import request as request_cli
from authrelay.cli import tools as tools_cli
from authrelay.cli._lazy import LazyConsole, LazyModule

if TYPE_CHECKING:
    import asyncio

    from authrelay.config import Settings
    from authrelay.store import db
    from authrelay.store import environments as envs
else:  # imported when a command first needs them (fast --help)
    asyncio = LazyModule("asyncio")
    db = LazyModule("authrelay.store.db")
    envs = LazyModule("authrelay.store.environments")

app = typer.Typer(
    help="authrelay: a self-hostable agent auth server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
env_app = typer.Typer(help="Environments and their API clients.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Vault keys (AES-256-GCM).", no_args_is_help=True)
app.add_typer(env_app, name="env")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(profile_cli.app, name="profile")
app.add_typer(providers_cli.app, name="providers")
app.add_typer(tools_cli.app, name="tools")
app.add_typer(mcp_cli.app, name="mcp")
app.add_typer(connections_cli.app, name="connections")
app.add_typer(accounts_cli.app, name="accounts")
app.command("request")(request_cli.request_command)
app.add_typer(admin_cli.app, name="admin")

console = LazyConsole(soft_wrap=True)
err_console = LazyConsole(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="AUTHRELAY_DATA_DIR",
        help="Folder holding the SQLite database and the master key file.",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="DATABASE_URL", help="PostgreSQL URL (optional)."),
]


def _settings(data_dir: Path | None, database_url: str | None, **extra: Any) -> Settings:
    from authrelay.config import Settings

    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**overrides)


def environment_url(
    settings: Settings, env: envs.EnvironmentInfo, base: str | None = None
) -> str | None:
    """The environment's URL on `base`; by default on the URL the server recorded (or
    AUTHRELAY_PUBLIC_URL), None when no server runs on this data."""
    from authrelay.cli.local import served_url, url_for_host

    root = base or settings.public_url or served_url(settings)
    return None if root is None else url_for_host(root, env.host)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"❌ {message}")
    return typer.Exit(1)


# ---------------------------------------------------------------------------- serve


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(envvar="AUTHRELAY_HOST", help="Address to bind.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(envvar="AUTHRELAY_PORT", help="Port to bind.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Run the server (creates the database, environments and keys on first start)."""
    from authrelay.observability import configure_logging
    from authrelay.runtime import prepare_database
    from authrelay.transport import GuardedHttpProtocol, TransportLimits, raise_open_file_limit

    settings = _settings(data_dir, database_url, host=host, port=port)

    async def prepare() -> tuple[list[str], list[envs.EnvironmentInfo]]:
        engine, _keyring, created = await prepare_database(settings)
        async with db.session_factory(engine)() as session:
            all_envs = await envs.list_environments(session)
        await engine.dispose()
        return created, all_envs

    created, all_envs = asyncio.run(prepare())
    where = settings.data_dir.resolve()
    if created:
        console.print(f"Created environments: {', '.join(created)} (data in {where})")
    for env in all_envs:
        url = environment_url(settings, env, settings.base_url)
        console.print(f"Environment [bold]{env.name}[/bold]: {url}")
    console.print(
        f"API credentials for an environment: authrelay env create-client dev --data-dir {where}"
    )
    from authrelay.cli.local import forget_server, record_server

    # Worker processes build their settings from the environment.
    os.environ["AUTHRELAY_DATA_DIR"] = str(where)
    os.environ["AUTHRELAY_HOST"] = host
    os.environ["AUTHRELAY_PORT"] = str(port)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    configure_logging(settings.log_level)
    limits = TransportLimits.from_settings(settings)
    warning = raise_open_file_limit(limits)
    if warning:
        typer.echo(f"authrelay: warning: {warning}", err=True)
    protocol = functools.partial(GuardedHttpProtocol, limits=limits)
    record_server(settings)  # the URL local commands print (removed when the server stops)
    try:
        _run_uvicorn(host, port, workers, settings, protocol)
    finally:
        forget_server(settings)


def _run_uvicorn(host: str, port: int, workers: int, settings: Settings, protocol: object) -> None:
    import uvicorn

    uvicorn.run(
        "authrelay.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=cast("type[asyncio.Protocol]", protocol),
        ws="none",
        timeout_keep_alive=settings.keepalive_timeout,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        # The proxy relays the upstream's own Date and Server headers unchanged;
        # the API adds a Date header itself (observability.AccessLogMiddleware).
        server_header=False,
        date_header=False,
    )


@app.command("status")
def status(
    data_dir: DataDir = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", help="Wait up to this many seconds for the server to be ready.", min=0
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Say whether a server runs on this data folder, and its URL (exit 1 when none is ready)."""
    import time

    import httpx

    from authrelay.cli.local import served_url

    settings = _settings(data_dir, None)
    deadline = time.monotonic() + wait
    url: str | None = None
    while True:
        url = served_url(settings)
        if url is not None:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        if time.monotonic() >= deadline:
            where = settings.data_dir.resolve()
            state = "not ready" if url else "not running"
            if as_json:
                typer.echo(json.dumps({"ok": False, "url": url, "data_dir": str(where)}))
            else:
                err_console.print(f"❌ the server for {where} is {state}", markup=False)
            raise typer.Exit(1)
        time.sleep(0.2)
    if as_json:
        typer.echo(json.dumps({"ok": True, "url": url, "data_dir": str(settings.data_dir)}))
        return
    console.print(f"✅ authrelay is ready at {url}", markup=False)


# ---------------------------------------------------------------------------- env


def _database_note(settings: Settings) -> None:
    from authrelay.cli.local import database_label

    err_console.print(f"database: {database_label(settings)}", markup=False, highlight=False)


async def _existing(settings: Settings) -> Any:
    """The existing database's engine; exits with a message when there is none."""
    from authrelay.cli.local import NoDatabaseError, open_existing

    try:
        engine = await open_existing(settings)
    except NoDatabaseError as exc:
        raise _fail(str(exc)) from None  # the message names the database looked for
    _database_note(settings)
    return engine


async def _with_session(settings: Settings, work: Any) -> Any:
    engine = await _existing(settings)
    try:
        async with db.session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


@env_app.command("list")
def env_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List environments."""
    settings = _settings(data_dir, database_url)
    rows: list[envs.EnvironmentInfo] = asyncio.run(_with_session(settings, envs.list_environments))
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
    settings = _settings(data_dir, database_url)

    async def work(session: Any) -> envs.EnvironmentInfo | None:
        if await envs.get_environment(session, name) is not None:
            return None
        return await envs.create_environment(session, name, host.lower() if host else None)

    env = asyncio.run(_with_session(settings, work))
    if env is None:
        raise _fail(f"environment {name!r} already exists")
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
    settings = _settings(data_dir, database_url)

    async def work(session: Any) -> envs.NewClient | None:
        from authrelay.auth.clients import issue_client

        env = await envs.get_environment(session, environment)
        return None if env is None else await issue_client(session, env)

    created: envs.NewClient | None = asyncio.run(_with_session(settings, work))
    if created is None:
        raise _fail(f"no environment named {environment!r} (see: authrelay env list)")
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
        raise _fail(
            "no running server recorded its URL for this data (start authrelay serve first, "
            "or set AUTHRELAY_PUBLIC_URL)"
        )
    try:
        ProfileStore().add(Profile(name, url, created.client_id), created.client_secret)
    except ProfileError as exc:
        raise _fail(str(exc)) from None
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
    settings = _settings(data_dir, database_url)

    async def work(session: Any) -> list[dict[str, str]] | None:
        env = await envs.get_environment(session, environment)
        if env is None:
            return None
        return [
            {"client_id": c.id, "created_at": db.as_utc(c.created_at).isoformat()}
            for c in await envs.list_clients(session, env)
        ]

    rows = asyncio.run(_with_session(settings, work))
    if rows is None:
        raise _fail(f"no environment named {environment!r}")
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
    settings = _settings(data_dir, database_url)

    async def work(session: Any) -> bool:
        return await envs.delete_client(session, client_id)

    if not asyncio.run(_with_session(settings, work)):
        raise _fail(f"no API client {client_id!r}")
    console.print(f"✅ deleted API client {client_id}")


# ---------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations (the server also does this at start)."""
    from authrelay.runtime import prepare_database

    settings = _settings(data_dir, database_url)
    _database_note(settings)

    async def work() -> None:
        engine, _keyring, _ = await prepare_database(settings)
        await engine.dispose()

    asyncio.run(work())
    console.print("✅ database schema is up to date")


# ---------------------------------------------------------------------------- keys


@keys_app.command("rotate")
def keys_rotate(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Make a new primary key and re-encrypt every stored secret under it.

    With the key file (the default) a new key is added in front of it; older keys stay for
    reading. With AUTHRELAY_MASTER_KEYS, put the new key first in that variable on every
    replica, then run this to re-encrypt under it.
    """
    from authrelay.keyrotation import rotate
    from authrelay.vault.keyring import add_primary_key, key_file, load_keyring

    settings = _settings(data_dir, database_url)
    env_keys = settings.master_keys.get_secret_value() if settings.master_keys else None

    async def work() -> Any:
        engine = await _existing(settings)
        try:
            if env_keys is None:
                load_keyring(None, settings.data_dir)  # the server's key file (made if absent)
                add_primary_key(key_file(settings.data_dir))
            keyring = load_keyring(env_keys, settings.data_dir)
            return await rotate(db.session_factory(engine), keyring)
        finally:
            await engine.dispose()

    report = asyncio.run(work())
    data = {
        "primary_key": report.primary_key,
        "reencrypted": report.reencrypted,
        "already_current": report.already_current,
        "key_source": "AUTHRELAY_MASTER_KEYS" if env_keys else "key file",
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    total = sum(report.reencrypted.values())
    console.print(f"✅ primary key is now {report.primary_key}; re-encrypted {total} secrets")
    for table, count in report.reencrypted.items():
        console.print(f"   {table}: {count}")


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
