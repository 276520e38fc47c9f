"""What the remote commands share: profile options, the client, the target line printed
before a change, confirmation, JSON/table output and secrets read without the command line.

Errors are left to escape: `authrelay.cli.errors.run` prints them as one line (or one JSON
object with --json) and exits 1.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from authrelay.cli.profiles import Credentials
    from authrelay_client._client import Client

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="Profile to use (wins over AUTHRELAY_* variables)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        result = dump(mode="json")
        assert isinstance(result, dict)
        return result
    raise TypeError(f"unexpected SDK value {type(value).__name__}")


def target_of(creds: Credentials) -> str:
    if creds.profile is not None:
        return f"profile {creds.profile.name} ({creds.env_url})"
    return f"environment variables ({creds.env_url})"


def credentials(profile: str | None) -> Credentials:
    from authrelay.cli.profiles import ProfileStore

    return ProfileStore().credentials(profile)


@contextmanager
def client(profile: str | None) -> Iterator[tuple[Client, Credentials]]:
    from authrelay_client._client import Client

    creds = credentials(profile)
    with Client(creds.env_url, creds.client_id, creds.client_secret) as sdk:
        yield sdk, creds


def announce(creds: Credentials) -> None:
    """The environment a change is about to go to (standard error, so --json stays clean)."""
    print(f"→ target: {target_of(creds)}", file=sys.stderr)


def confirm(question: str, yes: bool, creds: Credentials | None = None) -> bool:
    """Print the target; then --yes: go on, a terminal: ask, no terminal: refuse."""
    if creds is not None:
        announce(creds)
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    return typer.confirm(question, default=False)


NOT_CONFIRMED = "not confirmed (no terminal to ask on, or answered no); repeat with --yes"


def fail(message: str, as_json: bool, **extra: Any) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": message, **extra}, indent=2))
    else:
        print(f"❌ {message}", file=sys.stderr)
    return typer.Exit(1)


def ok(message: str, as_json: bool, **data: Any) -> None:
    if as_json:
        typer.echo(json.dumps({"ok": True, **data}, indent=2, default=str))
    else:
        typer.echo(f"✅ {message}")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table; full width when standard output is not a terminal (nothing cut)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns)
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console().print(table)


def console() -> Any:
    """A console for tables: terminal width on a terminal, unbounded otherwise."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(soft_wrap=True, markup=False, highlight=False)
    return Console(soft_wrap=True, markup=False, highlight=False, width=10_000)


def read_secret(label: str) -> str:
    """A secret from a hidden prompt on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"{label}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise typer.BadParameter(f"no {label} given (type it at the prompt or pipe it in)")
    return value


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`KEY=VALUE` options as a dict."""
    found: dict[str, str] = {}
    for raw in values or []:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"use KEY=VALUE, got {raw!r}", param_hint=option)
        found[key] = value
    return found
