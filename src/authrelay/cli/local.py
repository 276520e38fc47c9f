"""Local admin commands' access to the server's data: the same database the server uses,
never a new one, and the URL the running server recorded.

Only `authrelay serve` and `authrelay db upgrade` create a database. The other local
commands open an existing one and name it on standard error, so a command run from another
folder or with another data directory says where it looked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from authrelay.config import Settings

SERVERS_DIR = "servers"


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
