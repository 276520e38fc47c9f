"""`authrelay keys …`: the vault's keys (AES-256-GCM): a new primary key, and every stored
secret re-encrypted under it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from authrelay.cli._lazy import LazyModule
from authrelay.cli.local import DatabaseUrl, DataDir, console
from authrelay.cli.local import existing_engine as _existing
from authrelay.cli.local import settings_for as _settings

if TYPE_CHECKING:
    import asyncio

    from authrelay.store import db
else:  # imported when a command first needs them (fast --help)
    asyncio = LazyModule("asyncio")
    db = LazyModule("authrelay.store.db")

keys_app = typer.Typer(help="Vault keys (AES-256-GCM).", no_args_is_help=True)


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
