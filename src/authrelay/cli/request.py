"""`authrelay request METHOD PATH`: one proxied call through a connection, as a user.

Like `gh api`: the upstream's body on standard output (indented JSON on a terminal, the
raw bytes otherwise) and a non-zero exit when the upstream answers 4xx or 5xx.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from authrelay.cli import common
from authrelay.cli.common import ProfileOpt

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def _body(data: str | None) -> bytes | None:
    """--data TEXT, --data @FILE, or --data @- (standard input)."""
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            return Path(data[1:]).read_bytes()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {data[1:]}: {exc.strerror}") from None
    return data.encode()


def _headers(values: list[str] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in values or []:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"use 'Name: value', got {raw!r}", param_hint="--header")
        headers[name.strip()] = value.strip()
    return headers


def request_command(
    method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, PUT, PATCH, DELETE …")],
    path: Annotated[str, typer.Argument(help="Path on the provider's API, e.g. /v1/me.")],
    connection: Annotated[
        str, typer.Option("--connection", "-c", help="Connection name.", show_default=False)
    ],
    identifier: Annotated[
        str, typer.Option("--identifier", help="The user to act as.", show_default=False)
    ],
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", "-H", help="Extra header 'Name: value' (repeatable).", show_default=False
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="Request body: text, @FILE, or @- for standard input.",
            show_default=False,
        ),
    ] = None,
    query: Annotated[
        list[str] | None,
        typer.Option(
            "--query", "-q", help="Query parameter KEY=VALUE (repeatable).", show_default=False
        ),
    ] = None,
    include: Annotated[
        bool, typer.Option("--include", "-i", help="Print the status line and headers first.")
    ] = False,
    profile: ProfileOpt = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="One JSON object: status, headers and body (parsed when JSON)."
        ),
    ] = False,
) -> None:
    """Make a proxied call to a provider's API as a user (credentials injected by authrelay)."""
    verb = method.upper()
    if verb not in METHODS:
        raise typer.BadParameter(f"use one of {', '.join(sorted(METHODS))}", param_hint="METHOD")
    headers = _headers(header)
    body = _body(data)
    params = common.pairs(query, "--query") or None
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        try:
            json.loads(body)
            headers["Content-Type"] = "application/json"
        except ValueError:
            pass
    with common.client(profile) as (sdk, _):
        response = sdk.actions.request(
            connection,
            identifier,
            path,
            verb,
            query_params=params,
            raw_body=body,
            headers=headers or None,
        )
    if as_json:
        try:
            shown_body = response.json()
        except ValueError:
            shown_body = response.text
        common.print_json(
            {
                "ok": not response.is_error,
                "status": response.status_code,
                "headers": dict(response.headers.items()),
                "body": shown_body,
            }
        )
        if response.is_error:
            raise typer.Exit(1)
        return
    if include:
        typer.echo(f"HTTP/1.1 {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            typer.echo(f"{name}: {value}")
        typer.echo("")
    content = response.content
    shown = False
    if sys.stdout.isatty() and "json" in response.headers.get("content-type", ""):
        try:
            typer.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
            shown = True
        except ValueError:
            pass
    if not shown and content:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    if response.is_error:
        print(
            f"\n❌ the upstream answered HTTP {response.status_code} {response.reason_phrase}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
