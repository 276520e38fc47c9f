"""`authrelay`: run the server and administer its local data.

Commands that touch the server's data find it through ``--data-dir`` /
``AUTHRELAY_DATA_DIR`` (and ``DATABASE_URL`` for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from authrelay.cli import admin as admin_cli
from authrelay.cli import profile as profile_cli
from authrelay.cli import providers as providers_cli
from authrelay.config import Settings
from authrelay.store import db
from authrelay.store import environments as envs

app = typer.Typer(
    help="authrelay: a self-hostable agent auth server.",
    no_args_is_help=True,
    add_completion=False,
)
env_app = typer.Typer(help="Environments and their API clients.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Vault keys (AES-256-GCM).", no_args_is_help=True)
app.add_typer(env_app, name="env")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(profile_cli.app, name="profile")
app.add_typer(providers_cli.app, name="providers")
app.add_typer(admin_cli.app, name="admin")

console = Console()
err_console = Console(stderr=True)

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
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**overrides)


def environment_url(settings: Settings, env: envs.EnvironmentInfo) -> str:
    if not env.host:
        return settings.base_url
    base = urlsplit(settings.base_url)
    port = f":{base.port}" if base.port else ""
    return f"{base.scheme}://{env.host}{port}"


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
    import uvicorn

    from authrelay.observability import configure_logging
    from authrelay.runtime import prepare_database

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
        console.print(f"Environment [bold]{env.name}[/bold]: {environment_url(settings, env)}")
    console.print(
        f"API credentials for an environment: authrelay env create-client dev --data-dir {where}"
    )
    # Worker processes build their settings from the environment.
    os.environ["AUTHRELAY_DATA_DIR"] = str(where)
    os.environ["AUTHRELAY_HOST"] = host
    os.environ["AUTHRELAY_PORT"] = str(port)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    configure_logging(settings.log_level)
    uvicorn.run(
        "authrelay.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        # The proxy relays the upstream's own Date and Server headers unchanged;
        # the API adds a Date header itself (observability.AccessLogMiddleware).
        server_header=False,
        date_header=False,
    )


# ---------------------------------------------------------------------------- env


async def _with_session(settings: Settings, work: Any) -> Any:
    from authrelay.runtime import prepare_database

    engine, _keyring, _ = await prepare_database(settings)
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
    table = Table("name", "id", "environment URL")
    for item in data:
        table.add_row(item["name"], item["id"], item["environment_url"])
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
    console.print(f"✅ created environment {env.name} ({env.id}): {environment_url(settings, env)}")


@env_app.command("create-client")
def env_create_client(
    environment: Annotated[str, typer.Argument(help="Environment name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create an API client; its secret is shown only now."""
    settings = _settings(data_dir, database_url)

    async def work(session: Any) -> envs.NewClient | None:
        env = await envs.get_environment(session, environment)
        return None if env is None else await envs.create_client(session, env)

    created: envs.NewClient | None = asyncio.run(_with_session(settings, work))
    if created is None:
        raise _fail(f"no environment named {environment!r} (see: authrelay env list)")
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
    settings = _settings(data_dir, database_url)

    async def work(_session: Any) -> None:
        return None

    asyncio.run(_with_session(settings, work))
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
    from authrelay.runtime import prepare_database
    from authrelay.vault.keyring import add_primary_key, key_file, load_keyring
    from authrelay.vault.rotate import rotate

    settings = _settings(data_dir, database_url)
    env_keys = settings.master_keys.get_secret_value() if settings.master_keys else None

    async def work() -> Any:
        engine, _ring, _ = await prepare_database(settings)  # creates the key file if absent
        try:
            if env_keys is None:
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


def main() -> None:
    app()
