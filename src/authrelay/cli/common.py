"""What the remote commands share: profile options, the client, the target line printed
before a change, confirmation, JSON/table output, secrets read without the command line,
files or URLs read for a command, and the tool-sync plan (`tools import-openapi`,
`providers apply` and `providers promote`). Command modules import this module, never
each other.

Errors are left to escape: `authrelay.cli.errors.run` prints them as one line (or one JSON
object with --json) and exits 1.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from authrelay.cli._lazy import LazyConsole
from authrelay_client.wire import JSONObject

if TYPE_CHECKING:
    import httpx

    from authrelay.cli.profiles import Credentials
    from authrelay_client._client import Client
    from authrelay_client.models import ToolSyncResult

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="Profile to use (wins over AUTHRELAY_* variables)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

# No console markup: paths like "available_scopes[admin]" and server messages are shown as-is.
# Without a terminal, tables are printed at full width (nothing cut).
out = LazyConsole(soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 10_000)
err = LazyConsole(stderr=True, soft_wrap=True, markup=False)


def as_dict(value: Any) -> JSONObject:
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


def confirm(
    question: str, yes: bool, creds: Credentials | None = None, *, explain: bool = False
) -> bool:
    """Print the target; then --yes: go on, a terminal: ask, no terminal: refuse (saying
    so on standard error with `explain`; otherwise the caller says it)."""
    if creds is not None:
        announce(creds)
    if yes:
        return True
    if not sys.stdin.isatty():
        if explain:
            print(
                "Not confirmed: no terminal to ask on; repeat with --yes to apply.", file=sys.stderr
            )
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


# ---------------------------------------------------------------------------- files and URLs


def read_bytes(source: str, *, timeout: float) -> bytes:
    """A local file, or a URL fetched with `timeout` seconds (redirects followed)."""
    if source.startswith(("http://", "https://")):
        return _fetch(source, timeout).content
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc.strerror}") from None


def read_text(source: str, *, timeout: float) -> str:
    """As `read_bytes`, decoded: a URL by its declared charset, a file as UTF-8 (an
    undecodable byte becomes U+FFFD)."""
    if source.startswith(("http://", "https://")):
        return _fetch(source, timeout).text
    try:
        return Path(source).read_text(errors="replace")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc.strerror}") from None


def _fetch(url: str, timeout: float) -> httpx.Response:
    import httpx

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise typer.BadParameter(f"cannot fetch {url}: {exc}") from None
    return response


def json_object(text: str, option: str) -> dict[str, Any]:
    """An option's value parsed as a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{option} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{option} must be a JSON object")
    return value


# ---------------------------------------------------------------------------- tool sync


def show_plan(result: ToolSyncResult, title: str) -> int:
    """Print a sync plan; the number of changes in it."""
    from rich.table import Table

    table = Table("action", "tool", "changed", title=title)
    for name in result.created:
        table.add_row("create", name, "")
    for item in result.updated:
        table.add_row("update", str(item.get("name")), ", ".join(item.get("fields", [])))
    for name in result.deleted:
        table.add_row("delete", name, "")
    changes = len(result.created) + len(result.updated) + len(result.deleted)
    if changes:
        out.print(table)
    out.print(
        f"tools: {len(result.created)} to create, {len(result.updated)} to update, "
        f"{len(result.deleted)} to delete, {len(result.unchanged)} unchanged"
    )
    return changes


def sync_with_plan(
    client: Client,
    provider: str,
    tools: Sequence[Mapping[str, Any]],
    *,
    prune: str,
    source: str,
    yes: bool,
    as_json: bool,
    question: str,
) -> ToolSyncResult | None:
    """Dry run, show, confirm, apply. None when nothing changed or not confirmed."""
    plan = client.tools.sync(provider, tools, prune=prune, source=source, dry_run=True)
    changes = (
        len(plan.created) + len(plan.updated) + len(plan.deleted)
        if as_json
        else show_plan(plan, f"tools of {provider}")
    )
    if not changes:
        return None
    if not confirm(question, yes, explain=True):
        raise typer.Exit(1)
    return client.tools.sync(provider, tools, prune=prune, source=source)
