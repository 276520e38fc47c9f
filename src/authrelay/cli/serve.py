"""`authrelay serve`, `authrelay status` and `authrelay db upgrade`: run the server on its
data, say whether one runs, and bring the database schema up to date."""

from __future__ import annotations

import functools
import json
import os
from typing import TYPE_CHECKING, Annotated, cast

import typer

from authrelay.cli._lazy import LazyModule
from authrelay.cli.local import (
    DatabaseUrl,
    DataDir,
    console,
    database_note,
    environment_url,
    err_console,
    settings_for,
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

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


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

    settings = settings_for(data_dir, database_url, host=host, port=port)

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

    settings = settings_for(data_dir, None)
    deadline = time.monotonic() + wait
    url: str | None = None
    while True:
        url = served_url(settings)
        if url is not None:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == httpx.codes.OK:
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


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations (the server also does this at start)."""
    from authrelay.runtime import prepare_database

    settings = settings_for(data_dir, database_url)
    database_note(settings)

    async def work() -> None:
        engine, _keyring, _ = await prepare_database(settings)
        await engine.dispose()

    asyncio.run(work())
    console.print("✅ database schema is up to date")
