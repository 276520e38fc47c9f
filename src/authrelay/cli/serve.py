"""`authrelay serve`, `authrelay status` and `authrelay db upgrade`: run the server on its
data, say whether one runs, and bring the database schema up to date."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
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
    fail,
    settings_for,
)

if TYPE_CHECKING:
    import asyncio
    import ssl

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
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            envvar="AUTHRELAY_TLS_CERT_FILE",
            help="Serve TLS (HTTP/2 and HTTP/1.1) with this certificate chain (PEM).",
            show_default=False,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key",
            envvar="AUTHRELAY_TLS_KEY_FILE",
            help="The private key of --tls-cert (PEM).",
            show_default=False,
        ),
    ] = None,
    dev_tls: Annotated[
        bool,
        typer.Option(
            "--dev-tls",
            help="Serve TLS with a local development CA made in the data folder.",
        ),
    ] = False,
) -> None:
    """Run the server (creates the database, environments and keys on first start)."""
    from authrelay.observability import configure_logging
    from authrelay.runtime import prepare_database
    from authrelay.transport import GuardedHttpProtocol, TransportLimits, raise_open_file_limit

    if dev_tls and (tls_cert or tls_key):
        raise fail("--dev-tls makes its own certificate: leave out --tls-cert and --tls-key")
    if (tls_cert is None) != (tls_key is None):
        raise fail("--tls-cert and --tls-key go together")
    trust: dict[str, str] = {}
    if dev_tls:
        from authrelay.cli.devtls import ensure_dev_tls, trust_variables

        where = settings_for(data_dir, database_url).data_dir
        made = ensure_dev_tls(where)
        tls_cert, tls_key = made.cert_file, made.key_file
        trust = trust_variables(made.ca_file)
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise fail(f"no such file: {path}")
    settings = settings_for(
        data_dir,
        database_url,
        host=host,
        port=port,
        tls_cert_file=tls_cert.resolve() if tls_cert else None,
        tls_key_file=tls_key.resolve() if tls_key else None,
    )

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
    if trust:
        console.print(f"Development TLS: {settings.base_url} (CA: {trust['NODE_EXTRA_CA_CERTS']})")
        console.print("To trust it from the SDKs, set:", markup=False)
        for name, value in trust.items():
            console.print(f"  export {name}={value}", markup=False, highlight=False)
    from authrelay.cli.local import forget_server, record_server

    # Worker processes build their settings from the environment.
    os.environ["AUTHRELAY_DATA_DIR"] = str(where)
    os.environ["AUTHRELAY_HOST"] = host
    os.environ["AUTHRELAY_PORT"] = str(port)
    if settings.tls_cert_file and settings.tls_key_file:
        os.environ["AUTHRELAY_TLS_CERT_FILE"] = str(settings.tls_cert_file)
        os.environ["AUTHRELAY_TLS_KEY_FILE"] = str(settings.tls_key_file)
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

    tls: dict[str, object] = {}
    if settings.tls_cert_file and settings.tls_key_file:
        from authrelay.http2 import alpn_ssl_context

        tls = {
            "ssl_certfile": str(settings.tls_cert_file),
            "ssl_keyfile": str(settings.tls_key_file),
            "ssl_context_factory": alpn_ssl_context,  # ALPN h2 and http/1.1
        }
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
        **tls,  # type: ignore[arg-type]
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
    trust = _trust(settings)
    while True:
        url = served_url(settings)
        if url is not None:
            try:
                answer = httpx.get(f"{url}/readyz", timeout=2, verify=trust)
                if answer.status_code == httpx.codes.OK:
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


def _trust(settings: Settings) -> ssl.SSLContext:
    """The system's trusted CAs (and SSL_CERT_FILE), with the development CA of
    `serve --dev-tls` when the data folder has one."""
    import ssl

    from authrelay.cli.devtls import TLS_DIR

    context = ssl.create_default_context()
    dev_ca = settings.data_dir.resolve() / TLS_DIR / "ca.pem"
    if dev_ca.is_file():
        context.load_verify_locations(cafile=str(dev_ca))
    return context


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
