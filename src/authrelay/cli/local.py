"""Local admin commands' access to the server's data: the --data-dir and --database-url
options and the settings they give, the same database the server uses (never a new one),
and the URL the running server recorded.

Only `authrelay serve` and `authrelay db upgrade` create a database. The other local
commands open an existing one and name it on standard error, so a command run from another
folder or with another data directory says where it looked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer

from authrelay.cli._lazy import LazyConsole

if TYPE_CHECKING:  # imported when a command first needs them (fast --help)
    from authrelay.config import Settings
    from authrelay.store.environments import EnvironmentInfo

T = TypeVar("T")
SERVERS_DIR = "servers"

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


# ---------------------------------------------------------------------------- settings


def settings_for(data_dir: Path | None, database_url: str | None, **extra: Any) -> Settings:
    """The server's settings, with --data-dir, --database-url and `extra` (when given) over
    the environment."""
    from authrelay.config import Settings

    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**overrides)


def fail(message: str) -> typer.Exit:
    """One line on standard error; raise the answer to exit 1."""
    err_console.print(f"❌ {message}")
    return typer.Exit(1)


def environment_url(
    settings: Settings, env: EnvironmentInfo, base: str | None = None
) -> str | None:
    """The environment's URL on `base`; by default on the URL the server recorded (or
    AUTHRELAY_PUBLIC_URL), None when no server runs on this data."""
    root = base or settings.public_url or served_url(settings)
    return None if root is None else url_for_host(root, env.host)


# ---------------------------------------------------------------------------- database


class NoDatabaseError(Exception):
    """The settings name no existing authrelay database."""


def database_label(settings: Settings) -> str:
    """The database as a person can recognise it (no password)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        return f"SQLite {url.split('///', 1)[-1]}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"PostgreSQL {user}{host}{port}{parts.path}"


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[-1])


async def open_existing(settings: Settings) -> Any:
    """An engine on the existing database; NoDatabaseError when there is none."""
    from authrelay.store import db

    path = _sqlite_path(settings)
    hint = (
        "start the server there first (authrelay serve), or point AUTHRELAY_DATA_DIR / "
        "--data-dir (DATABASE_URL for PostgreSQL) at the server's data"
    )
    if path is not None and not path.is_file():
        raise NoDatabaseError(f"no authrelay database at {path}: {hint}")
    engine = db.create_engine(settings.resolved_database_url)
    try:
        tables = await db.table_names(engine)
    except Exception as exc:
        await engine.dispose()
        raise NoDatabaseError(f"cannot open {database_label(settings)}: {exc}") from None
    if "alembic_version" not in tables or "environments" not in tables:
        await engine.dispose()
        raise NoDatabaseError(f"{database_label(settings)} is not an authrelay database: {hint}")
    return engine


def database_note(settings: Settings) -> None:
    """Which database a local command uses (standard error, so --json stays clean)."""
    err_console.print(f"database: {database_label(settings)}", markup=False, highlight=False)


async def existing_engine(settings: Settings) -> Any:
    """The existing database's engine; exits with a message when there is none."""
    try:
        engine = await open_existing(settings)
    except NoDatabaseError as exc:
        raise fail(str(exc)) from None  # the message names the database looked for
    database_note(settings)
    return engine


async def with_session(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """`work(session)` on the existing database, committed."""
    from authrelay.store import db

    engine = await existing_engine(settings)
    try:
        async with db.session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def run_in_environment(
    environment: str, settings: Settings, work: Callable[[Any, str], Awaitable[T]]
) -> T:
    """`work(session, environment id)` on the server's database, committed; a missing
    environment, or a NotFound from `work`, ends the command with its message."""
    import asyncio

    from authrelay.errors import NotFound
    from authrelay.store import environments as envs

    async def in_env(session: Any) -> tuple[T] | None:
        env = await envs.get_environment(session, environment)
        if env is None:
            return None
        return (await work(session, env.id),)

    try:
        found = asyncio.run(with_session(settings, in_env))
    except NotFound as exc:
        raise fail(exc.message) from None
    if found is None:
        raise fail(f"no environment named {environment!r} (see: authrelay env list)")
    return found[0]


# ---------------------------------------------------------------------------- served URL


def servers_dir(settings: Settings) -> Path:
    """`servers/` in the data folder: one `<pid>.json` per running `serve` (several servers
    may share a data folder, e.g. on different ports)."""
    return settings.data_dir.resolve() / SERVERS_DIR


def record_server(settings: Settings) -> Path:
    """Written by `serve`: the URL it serves, for local commands to print."""
    folder = servers_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{os.getpid()}.json"
    tmp = folder / f".{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"url": settings.base_url, "pid": os.getpid()}) + "\n")
    os.replace(tmp, path)
    return path


def forget_server(settings: Settings) -> None:
    (servers_dir(settings) / f"{os.getpid()}.json").unlink(missing_ok=True)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def served_url(settings: Settings) -> str | None:
    """The URL a running server recorded for this data folder, or None: of several, the one
    running longest. Records of servers that are gone (killed before they could remove
    theirs) are skipped and removed."""
    records = []
    for path in servers_dir(settings).glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str):
            continue
        if not _alive(data.get("pid")):
            path.unlink(missing_ok=True)
            continue
        records.append((path.stat().st_mtime, url))
    return min(records)[1] if records else None


def url_for_host(base: str, host: str | None) -> str:
    """`base` with its host replaced by an environment's own host name (port kept)."""
    if not host:
        return base
    parts = urlsplit(base)
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{host}{port}"))
