"""`authrelay accounts import FILE` onboards many users at once: JSON lines or CSV
(docs/cli.md), checked whole before anything is sent, then created with several requests in
flight and a progress bar.
Accounts that already exist are counted and left as they are, so an interrupted import can
simply be run again."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import typer

from authrelay.cli.common import err
from authrelay_client.wire import AuthorizationDetailsInput, JSONObject

if TYPE_CHECKING:
    from authrelay_client._client import AsyncClient

OWNER_FIELDS = ("organization_id", "user_id")
JSON_FIELDS = {"connector", "identifier", *OWNER_FIELDS, "authorization_details", "api_config"}


@dataclass
class Row:
    line: int
    connector: str
    identifier: str
    organization_id: str | None = None
    user_id: str | None = None
    authorization_details: AuthorizationDetailsInput | None = None  # the server checks it
    api_config: JSONObject | None = None


class Failure(TypedDict):
    line: int
    connector: str
    identifier: str
    error: str


@dataclass
class Outcome:
    created: int = 0
    existing: int = 0
    failed: list[Failure] = field(default_factory=list)


def _text(value: Any, name: str, line: int, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"line {line}: {name} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"line {line}: {name} must be a string")
    return value


def _row(line: int, data: JSONObject) -> Row:
    connector = _text(data.get("connector"), "connector", line, required=True)
    identifier = _text(data.get("identifier"), "identifier", line, required=True)
    assert connector is not None and identifier is not None
    row = Row(line, connector, identifier)
    row.organization_id = _text(
        data.get("organization_id"), "organization_id", line, required=False
    )
    row.user_id = _text(data.get("user_id"), "user_id", line, required=False)
    for name in ("authorization_details", "api_config"):
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"line {line}: {name} must be an object")
        setattr(row, name, value)
    return row


def read_jsonl(path: Path) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise ValueError(f"line {number}: expected a JSON object")
            unknown = sorted(set(data) - JSON_FIELDS)
            if unknown:
                raise ValueError(f"line {number}: unknown field(s) {', '.join(unknown)}")
            rows.append(_row(number, data))
    return rows


def read_csv(path: Path) -> list[Row]:
    """Columns connector, identifier, organization_id, user_id; every other column is a
    static credential field (`static_auth.details`), left out where the cell is empty."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in ("connector", "identifier") if name not in header]
        if missing:
            raise ValueError(f"line 1: the header lacks {', '.join(missing)}")
        for record in reader:
            number = reader.line_num
            if None in record:
                raise ValueError(f"line {number}: more cells than header columns")
            details = {
                k: v
                for k, v in record.items()
                if k not in {"connector", "identifier", *OWNER_FIELDS} and v not in (None, "")
            }
            data: JSONObject = {k: record.get(k) for k in ("connector", "identifier")}
            data.update({k: record.get(k) for k in OWNER_FIELDS})
            if details:
                data["authorization_details"] = {"static_auth": {"details": details}}
            rows.append(_row(number, data))
    return rows


def read_rows(path: Path) -> list[Row]:
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    return read_jsonl(path)


async def _create(client: AsyncClient, row: Row, outcome: Outcome) -> None:
    from authrelay_client._exceptions import AlreadyExistsError, AuthrelayClientError

    try:
        await client.connected_accounts.create(
            row.connector,
            row.identifier,
            row.authorization_details,
            row.api_config,
            organization_id=row.organization_id,
            user_id=row.user_id,
        )
        outcome.created += 1
    except AlreadyExistsError:
        outcome.existing += 1
    except AuthrelayClientError as exc:
        outcome.failed.append(
            {
                "line": row.line,
                "connector": row.connector,
                "identifier": row.identifier,
                "error": str(exc),
            }
        )


async def import_rows(
    credentials: Any, rows: list[Row], concurrency: int, progress: Any | None
) -> Outcome:
    """Create every row with `concurrency` requests in flight."""
    import asyncio

    from authrelay_client._client import AsyncClient

    outcome = Outcome()
    queue: asyncio.Queue[Row] = asyncio.Queue()
    for row in rows:
        queue.put_nowait(row)
    async with AsyncClient(
        credentials.env_url, credentials.client_id, credentials.client_secret
    ) as client:
        await client._token()  # one token for every worker

        async def worker() -> None:
            while not queue.empty():
                row = queue.get_nowait()
                await _create(client, row, outcome)
                if progress is not None:
                    progress()

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    outcome.failed.sort(key=lambda item: item["line"])
    return outcome


def import_accounts(
    file: Annotated[Path, typer.Argument(help="JSON lines (.jsonl) or CSV (.csv) file.")],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Requests in flight.")
    ] = 16,
    profile: Annotated[str | None, typer.Option("--profile", help="Profile to use.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Create many connected accounts from a file; existing ones are left as they are."""
    import asyncio

    from authrelay.cli.profiles import ProfileError, ProfileStore

    if not file.is_file():
        raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
    try:
        rows = read_rows(file)
    except (ValueError, UnicodeDecodeError) as exc:
        err.print(f"❌ {file}: {exc}")
        raise typer.Exit(1) from None
    try:
        credentials = ProfileStore().credentials(profile)
    except ProfileError as exc:
        err.print(f"❌ {exc}")
        raise typer.Exit(1) from None
    outcome = _run_with_progress(
        lambda tick: asyncio.run(import_rows(credentials, rows, concurrency, tick)),
        len(rows),
        show=not as_json,
    )
    summary = {
        "total": len(rows),
        "created": outcome.created,
        "existing": outcome.existing,
        "failed": outcome.failed,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for failure in outcome.failed:
            err.print(
                f"❌ line {failure['line']} ({failure['connector']}/{failure['identifier']}): "
                f"{failure['error']}"
            )
        typer.echo(
            f"{'✅' if not outcome.failed else '⚠️'} {outcome.created} created, "
            f"{outcome.existing} already existed, {len(outcome.failed)} failed "
            f"(of {len(rows)})"
        )
    if outcome.failed:
        raise typer.Exit(1)


def _run_with_progress(work: Any, total: int, *, show: bool) -> Outcome:
    if not show:
        result: Outcome = work(None)
        return result
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err.real, transient=True) as bar:
        task = bar.add_task("importing", total=total)
        result = work(lambda: bar.advance(task))
    return result
