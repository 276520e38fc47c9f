"""`authrelay admin …`: the people who may sign in to the dashboard."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from authrelay.cli._lazy import LazyConsole, LazyModule
from authrelay.cli.local import DatabaseUrl, DataDir, settings_for
from authrelay.errors import AuthrelayError

if TYPE_CHECKING:
    from authrelay.config import Settings
    from authrelay.dashboard import users
    from authrelay.store import db
else:  # imported when an admin command runs (every other command starts faster)
    users = LazyModule("authrelay.dashboard.users")
    db = LazyModule("authrelay.store.db")

T = TypeVar("T")

app = typer.Typer(help="Dashboard users (sign-in to /dashboard).", no_args_is_help=True)
console = LazyConsole()
err_console = LazyConsole(stderr=True)

Email = Annotated[str, typer.Argument(help="The user's email address.")]


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        from authrelay.runtime import prepare_database

        engine, _keyring, _ = await prepare_database(settings)
        try:
            async with db.session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except AuthrelayError as exc:
        err_console.print(f"❌ {exc}")
        raise typer.Exit(1) from None


def read_password() -> str:
    """Standard input when it is not a terminal (first line); otherwise asked twice."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Repeat the password: ") != password:
            err_console.print("❌ the two passwords differ")
            raise typer.Exit(1)
    try:
        users.check_password(password)
    except AuthrelayError as exc:
        err_console.print(f"❌ {exc}")
        raise typer.Exit(1) from None
    return password


@app.command("add")
def admin_add(email: Email, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create a dashboard user; the password comes from standard input."""
    settings = settings_for(data_dir, database_url)
    password = read_password()

    async def work(session: Any) -> str:
        return await users.add_user(session, email, password)

    console.print(f"✅ dashboard user {_run(settings, work)} added")


@app.command("list")
def admin_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List dashboard users (emails and creation dates)."""
    rows = _run(settings_for(data_dir, database_url), users.list_users)
    for row in rows:
        typer.echo(f"{row.email}\t{db.as_utc(row.created_at).isoformat()}")
    if not rows:
        console.print("No dashboard users yet: authrelay admin add EMAIL")


@app.command("remove")
def admin_remove(email: Email, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete a dashboard user and end their sessions."""

    async def work(session: Any) -> None:
        await users.remove_user(session, email)

    _run(settings_for(data_dir, database_url), work)
    console.print(f"✅ dashboard user {email.strip().lower()} removed")


@app.command("set-password")
def admin_set_password(
    email: Email, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Set a new password (from standard input); ends the user's sessions."""
    settings = settings_for(data_dir, database_url)
    password = read_password()

    async def work(session: Any) -> None:
        await users.set_password(session, email, password)

    _run(settings, work)
    console.print(f"✅ password of {email.strip().lower()} changed; their sessions ended")
