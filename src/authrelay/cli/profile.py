"""`authrelay profile …`: named environment URLs and client credentials."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from authrelay.cli._lazy import LazyConsole
from authrelay.cli.profiles import Profile, ProfileError, ProfileStore

app = typer.Typer(
    help="Profiles: environment URL and API credentials under a name.", no_args_is_help=True
)
console = LazyConsole(soft_wrap=True)


def _store() -> ProfileStore:
    return ProfileStore()


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Profile name, e.g. dev or production.")],
    env_url: Annotated[str, typer.Option("--env-url", help="Environment URL.")],
    client_id: Annotated[str, typer.Option("--client-id", help="API client id.")],
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            help="The secret on the command line (visible in shell history and process "
            "lists; by default it is read from a prompt or standard input instead).",
            show_default=False,
        ),
    ] = None,
    client_secret_env: Annotated[
        str | None,
        typer.Option(
            "--client-secret-env", help="Read the secret from this environment variable instead."
        ),
    ] = None,
    protected: Annotated[
        bool,
        typer.Option(
            "--protected", help="Promotions into it only print the curl command unless --execute."
        ),
    ] = False,
) -> None:
    """Add or replace a profile. The client secret is read from a hidden prompt, or from
    standard input when it is not a terminal (`… | authrelay profile add dev …`), and
    stored in a 0600 file; or name a variable to read it from with --client-secret-env."""
    if client_secret is None and client_secret_env is None:
        from authrelay.cli.common import read_secret

        client_secret = read_secret("API client secret")
    try:
        _store().add(
            Profile(name, env_url.rstrip("/"), client_id, protected, client_secret_env),
            client_secret,
        )
    except ProfileError as exc:
        console.print(f"❌ {exc}")
        raise typer.Exit(1) from None
    console.print(f"✅ profile {name} saved")


@app.command("list")
def list_profiles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List profiles (never secrets)."""
    from authrelay.cli.profiles import environment_source

    profiles, current = _store().list()
    env_source = environment_source()
    in_effect = "environment" if env_source else (f"profile:{current}" if current else None)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "current": current,
                    "in_effect": in_effect,
                    "environment": env_source,
                    "profiles": [p.public() for p in profiles],
                },
                indent=2,
            )
        )
        return
    from rich.table import Table

    table = Table("", "name", "environment URL", "client id", "protected")
    if env_source:
        table.add_row(
            "*",
            f"(environment: {env_source['variables']})",
            env_source["env_url"],
            env_source["client_id"],
            "",
        )
    for p in profiles:
        table.add_row(
            "*" if p.name == current and not env_source else "",
            p.name,
            p.env_url,
            p.client_id,
            "yes" if p.protected else "",
        )
    console.print(table)
    if env_source:
        console.print(
            f"* in effect: the {env_source['variables']} environment variables (they win over "
            f"the current profile {current!r}; --profile NAME wins over both)",
            markup=False,
        )
    elif current:
        console.print(f"* in effect: profile {current}", markup=False)
    else:
        console.print("no profile yet: authrelay profile add NAME --env-url URL --client-id ID")


@app.command("use")
def use(name: Annotated[str, typer.Argument(help="Profile to make current.")]) -> None:
    """Make a profile the default for commands without --profile."""
    try:
        _store().use(name)
    except ProfileError as exc:
        console.print(f"❌ {exc}")
        raise typer.Exit(1) from None
    console.print(f"✅ using profile {name}")


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Profile to remove.")]) -> None:
    """Remove a profile and its stored secret."""
    try:
        _store().remove(name)
    except ProfileError as exc:
        console.print(f"❌ {exc}")
        raise typer.Exit(1) from None
    console.print(f"✅ removed profile {name}")
