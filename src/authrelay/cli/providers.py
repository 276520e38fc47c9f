"""`authrelay providers …`: the provider workflow, on top of the Python SDK.

Every remote call's outcome is labelled ✅ or ❌; `--json` prints machine-readable results.
Exit codes: 0 ok, 1 refused or failed (including "not confirmed"), 2 usage.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NotRequired, TypedDict, cast

import typer

from authrelay.cli import common
from authrelay.cli.common import JsonOpt, ProfileOpt, YesOpt, err, out, sync_with_plan
from authrelay.cli.errors import message_of
from authrelay_client._exceptions import ApiError, AuthrelayClientError
from authrelay_client.codes import Code
from authrelay_client.providers.diff import (
    Change,
    definition_of,
    diff_definitions,
    editable,
    scope_changes,
    whole_definition,
)
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.wire import ProviderDefinitionBody, ToolRequest

if TYPE_CHECKING:
    from rich.table import Table

    from authrelay.cli.profiles import Credentials
    from authrelay_client._client import Client
    from authrelay_client.models import Provider

app = typer.Typer(
    help="Custom providers: list, get, diff, create, update, delete, promote, apply, infer.",
    no_args_is_help=True,
)
WARNING = (
    "⚠️  The authentication settings change: existing connections may need to be recreated "
    "and connected accounts re-authorized."
)
# Changes under these fields affect how connections and accounts authenticate.
AUTH_FIELDS = ("auth_patterns",)


# ---------------------------------------------------------------------------- plumbing


def auth_changed(changes: list[Change]) -> bool:
    return any(c.path.split("[", 1)[0].split(".", 1)[0] in AUTH_FIELDS for c in changes)


class DefinitionFile(ProviderDefinitionBody, total=False):
    """A definition file: the definition, and optionally the provider's `tools`
    (docs/tools.md), sent to the server as they are."""

    tools: object


class StepResult(TypedDict):
    """One step of `apply` in its --json output."""

    action: str
    identifier: str
    ok: bool
    error: NotRequired[str]
    result: NotRequired[dict[str, object] | None]


def load_definition(path: Path) -> DefinitionFile:
    """A provider definition from a JSON or YAML file (YAML when the name says so)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise typer.BadParameter(
            f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from None
    if isinstance(data, dict) and set(data) == {"provider"}:
        data = data["provider"]
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} does not hold a provider definition (a JSON object)")
    # server-set fields (id, etag, categories, …) are ignored
    return cast("DefinitionFile", editable(data))


def _providers(client: Client, kind: str = "all") -> list[Provider]:
    return client.providers.list(type=kind)


def _definition(provider: Provider) -> ProviderDefinitionBody:
    return definition_of(common.as_dict(provider))


def _match(providers: list[Provider], name: str) -> Provider | None:
    for provider in providers:
        if provider.identifier == name:
            return provider
    lowered = name.lower()
    matches = [p for p in providers if p.display_name.lower() == lowered]
    if not matches:
        wanted = derive_identifier(name)
        matches = [p for p in providers if p.identifier == wanted]
    return matches[0] if matches else None


def not_found(client: Client, name: str, where: str = "") -> str:
    """Why NAME matched no custom provider: it is a built-in one, or a close name exists."""
    import difflib

    everything = _providers(client, "all")
    builtin = _match([p for p in everything if not p.is_custom], name)
    if builtin is not None:
        return (
            f"{name!r} is a built-in provider ({builtin.display_name}, "
            f"{builtin.identifier}){where}: only custom providers can be changed"
        )
    custom = [p for p in everything if p.is_custom]
    names = {p.identifier: p.identifier for p in custom}
    names.update({p.display_name.lower(): p.identifier for p in custom})
    close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.6)
    hint = f"; did you mean {names[close[0]]!r}?" if close else ""
    return f"no custom provider named {name!r}{where}{hint}"


def resolve(client: Client, name: str) -> Provider | None:
    """A custom provider by identifier or display name (case-insensitive), from the list."""
    return _match(_providers(client, "custom"), name)


def _shorten(text: str, width: int = 60) -> str:
    """Long values are cut on a terminal only; elsewhere tables keep everything."""
    if len(text) <= width or not sys.stdout.isatty():
        return text
    return text[: width - 1] + "…"


def diff_table(changes: list[Change], title: str) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_lines=False)
    table.add_column("field")
    table.add_column("change")
    table.add_column("current")
    table.add_column("proposed")
    for change in changes:
        table.add_row(
            Text(change.path),
            change.kind,
            Text(_shorten(change.shown(change.old))),
            Text(_shorten(change.shown(change.new))),
        )
    return table


def three_way_table(source: ProviderDefinitionBody, target: ProviderDefinitionBody) -> Table:
    """Source (the truth), the target as it is, and what the target will become."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="promote: source → target")
    for column in ("field", "source", "target now", "proposed"):
        table.add_column(column)
    for change in diff_definitions(target, source):
        proposed = change.shown(change.new)
        table.add_row(
            Text(change.path),
            Text(_shorten(proposed)),
            Text(_shorten(change.shown(change.old))),
            _shorten(proposed),
        )
    return table


def report_changes(
    current: ProviderDefinitionBody | None, proposed: ProviderDefinitionBody, as_json: bool
) -> list[Change]:
    from rich.text import Text

    changes = diff_definitions(current, proposed)
    added, removed = scope_changes(current, proposed)
    if as_json:
        return changes
    if not changes:
        out.print(
            "No changes to display_name, description, auth_patterns, proxy_url or proxy_enabled."
        )
        return changes
    out.print(diff_table(changes, "changes"))
    if added:
        out.print(f"OAuth scopes added: {', '.join(added)}")
    if removed:
        out.print(Text(f"OAuth scopes removed: {', '.join(removed)}", style="bold"))
    if current is not None and auth_changed(changes):
        out.print(WARNING)
    return changes


def curl_for(method: str, url: str, token: str, body: ProviderDefinitionBody | None = None) -> str:
    parts = [
        "curl",
        "--location",
        "--request",
        method,
        url,
        "--header",
        f"Authorization: Bearer {token}",
    ]
    if body is not None:
        parts += ["--header", "Content-Type: application/json", "--data", json.dumps(body)]
    return " ".join(shlex.quote(p) for p in parts)


def _token(client: Client) -> str:
    return client._token()


RICH_TABLE_ROWS = 200  # longer lists print as plain aligned columns (rich lays out every cell)


def plain_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, written at once: linear in the rows (the rich
    table took seconds for 10,000 providers, docs/benchmarks.md)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, tuple("-" * w for w in widths), *rows]
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------- commands


@app.command("list")
def list_providers(
    kind: Annotated[str, typer.Option("--type", help="custom, default or all.")] = "custom",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List providers."""
    from rich.table import Table

    if kind not in {"custom", "default", "all"}:
        raise typer.BadParameter("use custom, default or all", param_hint="--type")
    with common.client(profile) as (client, _):
        providers = _providers(client, kind)
    if as_json:
        typer.echo(json.dumps([common.as_dict(p) for p in providers], indent=2))
        return
    headers = ("identifier", "display name", "auth", "proxy_url", "custom")
    rows: list[tuple[str, ...]] = [
        (
            p.identifier,
            p.display_name,
            ",".join(str(a.get("type")) for a in p.auth_patterns),
            str(p.proxy_url),
            "yes" if p.is_custom else "",
        )
        for p in providers
    ]
    if len(rows) > RICH_TABLE_ROWS:
        plain_table(headers, rows)
    else:
        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        out.print(table)
    out.print(f"✅ {len(providers)} provider(s)")


@app.command("get")
def get_provider(
    name: Annotated[str, typer.Argument(help="Display name or identifier.")],
    full: Annotated[
        bool, typer.Option("--full", help="The provider as the server returns it (id, etag, …).")
    ] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a provider's definition, as `create` and `update` accept it (built-in ones too;
    --full adds the fields the server sets)."""
    with common.client(profile) as (client, _):
        provider = resolve(client, name) or _match(_providers(client, "default"), name)
        if provider is None:
            raise common.fail(not_found(client, name), as_json)
    shown = common.as_dict(provider) if full else _definition(provider)
    typer.echo(json.dumps(shown, indent=2))


@app.command("diff")
def diff_provider(
    name: Annotated[str, typer.Argument(help="Display name or identifier.")],
    file: Annotated[Path, typer.Argument(help="Provider definition (JSON or YAML).")],
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there are changes (like git diff).")
    ] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what updating NAME with FILE would change."""
    proposed = load_definition(file)
    with common.client(profile) as (client, _):
        current = resolve(client, name)
    before = _definition(current) if current else None
    changes = report_changes(before, proposed, as_json)
    if as_json:
        added, removed = scope_changes(before, proposed)
        typer.echo(
            json.dumps(
                {
                    "ok": True,
                    "exists": current is not None,
                    "changes": [
                        {
                            "path": c.path,
                            "kind": c.kind,
                            "current": c.value(c.old),
                            "proposed": c.value(c.new),
                        }
                        for c in changes
                    ],
                    "auth_changed": current is not None and auth_changed(changes),
                    "scopes_added": added,
                    "scopes_removed": removed,
                },
                indent=2,
            )
        )
    if exit_code and changes:
        raise typer.Exit(1)


@app.command("create")
def create_provider(
    file: Annotated[Path, typer.Argument(help="Provider definition (JSON or YAML).")],
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a custom provider; when one of that name exists, offer to update it instead."""
    definition = load_definition(file)
    name = str(definition.get("display_name", ""))
    with common.client(profile) as (client, creds):
        existing = resolve(client, name) if name else None
        if existing is not None:
            if not as_json:
                out.print(
                    f"A provider {existing.display_name!r} ({existing.identifier}) already exists."
                )
            _update(
                client, creds, existing, definition, yes, as_json, question="Update it instead?"
            )
            return
        common.announce(creds)
        created = common.as_dict(client.providers.create(definition))
    common.ok(
        f"created {created['display_name']!r} ({created['identifier']})", as_json, provider=created
    )


def _update(
    client: Client,
    creds: Credentials,
    current: Provider,
    proposed: ProviderDefinitionBody,
    yes: bool,
    as_json: bool,
    question: str = "Apply these changes?",
) -> None:
    changes = report_changes(_definition(current), proposed, as_json)
    if not changes and current.metadata == proposed.get("metadata", {}):
        common.ok(
            f"nothing to change: {current.identifier} already matches",
            as_json,
            provider=common.as_dict(current),
            changed=False,
        )
        return
    if not common.confirm(question, yes, creds, explain=True):
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "ok": False,
                        "error": "not confirmed; repeat with --yes",
                        "changes": [c.path for c in changes],
                    },
                    indent=2,
                )
            )
        raise typer.Exit(1)
    updated = common.as_dict(
        client.providers.update(current.identifier, proposed, etag=current.etag)
    )
    common.ok(f"updated {updated['identifier']}", as_json, provider=updated, changed=True)


@app.command("update")
def update_provider(
    name: Annotated[str, typer.Argument(help="Display name or identifier.")],
    file: Annotated[Path, typer.Argument(help="Provider definition (JSON or YAML).")],
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Replace a custom provider's definition, after showing the diff and asking."""
    proposed = load_definition(file)
    with common.client(profile) as (client, creds):
        current = resolve(client, name)
        if current is None:
            raise common.fail(
                f"{not_found(client, name)} (to create it: authrelay providers create {file})",
                as_json,
            )
        _update(client, creds, current, proposed, yes, as_json)


@app.command("delete")
def delete_provider(
    name: Annotated[str, typer.Argument(help="Display name or identifier.")],
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    print_curl: Annotated[
        bool,
        typer.Option("--print-curl", help="Print the resolved curl command instead of deleting."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a custom provider (its identifier is resolved from the list call)."""
    with common.client(profile) as (client, creds):
        current = resolve(client, name)
        if current is None:
            raise common.fail(not_found(client, name), as_json)
        url = f"{creds.env_url}/api/v1/custom-providers/{current.identifier}"
        if print_curl:
            typer.echo(curl_for("DELETE", url, _token(client)))
            return
        question = f"Delete {current.display_name!r} ({current.identifier})?"
        if not common.confirm(question, yes, creds, explain=True):
            raise typer.Exit(1)
        try:
            client.providers.delete(current.identifier)
        except ApiError as exc:
            if exc.code == Code.FAILED_PRECONDITION:
                raise common.fail(
                    f"{exc.message}. Delete those connections first (authrelay connections "
                    f"list --provider {current.identifier}, then authrelay connections "
                    "delete NAME), then repeat.",
                    as_json,
                ) from None
            raise  # printed by cli.errors.run, as every other error
    common.ok(f"deleted {current.identifier}", as_json, identifier=current.identifier)


@app.command("promote")
def promote_provider(
    name: Annotated[str, typer.Argument(help="Display name or identifier in the source.")],
    source: Annotated[str, typer.Option("--from", help="Source profile (the truth).")] = "dev",
    target: Annotated[str, typer.Option("--to", help="Target profile.")] = "production",
    yes: YesOpt = False,
    execute: Annotated[
        bool, typer.Option("--execute", help="Apply even to a protected profile.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy a provider definition from one environment to another (create or update)."""
    with common.client(source) as (src, _):
        found = resolve(src, name)
        if found is None:
            raise common.fail(not_found(src, name, f" in {source}"), as_json)
    definition = _definition(found)
    with common.client(source) as (src, _):
        tools = [t.as_input() for t in src.tools.list(found.identifier, full=True)]
    with common.client(target) as (dst, creds):
        current = resolve(dst, found.identifier)
        if (
            current is not None
            and not diff_definitions(_definition(current), definition)
            and current.metadata == definition.get("metadata", {})
        ):
            common.ok(
                f"nothing to change: {current.identifier} in {target} already matches {source}",
                as_json,
                provider=common.as_dict(current),
                changed=False,
            )
            # The provider matches; its tools may not (they are promoted with it).
            if not (creds.profile is not None and creds.profile.protected and not execute):
                _promote_tools(dst, found.identifier, tools, yes, as_json)
            return
        if current is not None and not as_json:
            out.print(three_way_table(definition, _definition(current)))
        protected = creds.profile is not None and creds.profile.protected
        if protected and not execute:
            if current is None:
                command = curl_for(
                    "POST", f"{creds.env_url}/api/v1/custom-providers", _token(dst), definition
                )
            else:
                command = curl_for(
                    "PUT",
                    f"{creds.env_url}/api/v1/custom-providers/{current.identifier}",
                    _token(dst),
                    whole_definition(definition),
                )
            out.print(
                f"Profile {target!r} is protected; run this to apply (or repeat with --execute):"
            )
            typer.echo(command)
            return
        if current is None:
            report_changes(None, definition, as_json)
            if not common.confirm(
                f"Create {definition['display_name']!r} in {target}?", yes, creds, explain=True
            ):
                raise typer.Exit(1)
            created = common.as_dict(dst.providers.create(definition))
            common.ok(
                f"created {created['identifier']} in {target}",
                as_json,
                provider=created,
                action="create",
            )
            _promote_tools(dst, found.identifier, tools, yes, as_json)
            return
        _update(
            dst,
            creds,
            current,
            definition,
            yes,
            as_json,
            question=f"Update {current.identifier} in {target}?",
        )
        _promote_tools(dst, found.identifier, tools, yes, as_json)


@app.command("apply")
def apply_folder(
    folder: Annotated[Path, typer.Argument(help="Folder of provider files (JSON or YAML).")],
    profile: ProfileOpt = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete custom providers not in the folder.")
    ] = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Make the environment's custom providers match a folder: plan, confirm, apply."""
    from rich.progress import track
    from rich.table import Table

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".json", ".yaml", ".yml"})
    wanted = {
        derive_identifier(str(d.get("display_name", ""))): (f, d)
        for f in files
        for d in [load_definition(f)]
    }
    # A provider file may carry a `tools` list: synced after the providers (docs/tools.md).
    file_tools = {i: d.pop("tools") for i, (_, d) in wanted.items() if "tools" in d}
    with common.client(profile) as (client, creds):
        existing = {p.identifier: p for p in _providers(client, "custom")}
        plan: list[tuple[str, str, ProviderDefinitionBody | None]] = []
        for ident, (_, definition) in sorted(wanted.items()):
            current = existing.get(ident)
            if current is None:
                plan.append(("create", ident, definition))
            elif diff_definitions(_definition(current), definition) or (
                current.metadata != definition.get("metadata", {})
            ):
                plan.append(("update", ident, definition))
            else:
                plan.append(("unchanged", ident, definition))
        extras = sorted(set(existing) - set(wanted))
        plan += [("delete" if prune else "extra", ident, None) for ident in extras]
        if as_json is False:
            table = Table("action", "identifier")
            for action, ident, _ in plan:
                table.add_row(action, ident)
            out.print(table)
        todo = [p for p in plan if p[0] in {"create", "update", "delete"}]
        if not todo:
            tool_results = _sync_file_tools(client, file_tools, yes, as_json)
            common.ok(
                "nothing to do" if not tool_results else "tools synced",
                as_json,
                plan=[{"action": a, "identifier": i} for a, i, _ in plan],
                tools=tool_results,
            )
            return
        if not common.confirm(f"Apply {len(todo)} change(s)?", yes, creds, explain=True):
            raise typer.Exit(1)
        results: list[StepResult] = []
        failed = False
        steps = track(todo, description="applying") if len(todo) > 5 and not as_json else todo
        for action, ident, body in steps:
            try:
                if action == "delete":
                    client.providers.delete(ident)
                elif body is not None and action == "create":
                    client.providers.create(body)
                elif body is not None:
                    client.providers.update(ident, body, etag=existing[ident].etag)
                results.append({"action": action, "identifier": ident, "ok": True})
                if not as_json:
                    out.print(f"✅ {action} {ident}")
            except AuthrelayClientError as exc:
                failed = True
                results.append(
                    {"action": action, "identifier": ident, "ok": False, "error": message_of(exc)}
                )
                if not as_json:
                    err.print(f"❌ {action} {ident}: {message_of(exc)}")
        if not failed:
            results += _sync_file_tools(client, file_tools, yes, as_json)
            failed = any(not r["ok"] for r in results)
    if as_json:
        typer.echo(json.dumps({"ok": not failed, "results": results}, indent=2))
    if failed:
        raise typer.Exit(1)


def _promote_tools(
    client: Client, identifier: str, tools: list[ToolRequest], yes: bool, as_json: bool
) -> None:
    """The target's tools of the provider become the source's (diff, confirm, apply)."""
    result = sync_with_plan(
        client,
        identifier,
        tools,
        prune="all",
        source="promote",
        yes=yes,
        as_json=as_json,
        question=f"Apply these tool changes to {identifier}?",
    )
    if result is not None:
        common.ok(f"tools of {identifier} promoted", as_json, tools=result.model_dump(mode="json"))


def _sync_file_tools(
    client: Client, file_tools: dict[str, object], yes: bool, as_json: bool
) -> list[StepResult]:
    """Each provider file's `tools` list, synced (tools from files no longer listed go)."""
    results: list[StepResult] = []
    for ident, tools in sorted(file_tools.items()):
        try:
            if not isinstance(tools, list):
                raise ValueError("the `tools` entry must be a list of tools")
            done = sync_with_plan(
                client,
                ident,
                tools,
                prune="source",
                source="file",
                yes=yes,
                as_json=as_json,
                question=f"Apply these tool changes to {ident}?",
            )
            results.append({"action": "tools", "identifier": ident, "ok": True,
                            "result": done.model_dump(mode="json") if done else None})  # fmt: skip
            if done is not None and not as_json:
                out.print(f"✅ tools of {ident} synced")
        except (AuthrelayClientError, ValueError) as exc:
            message = message_of(exc)
            results.append({"action": "tools", "identifier": ident, "ok": False, "error": message})
            if not as_json:
                err.print(f"❌ tools of {ident}: {message}")
    return results


@app.command("infer")
def infer_provider(
    openapi: Annotated[
        str | None, typer.Option("--openapi", help="OpenAPI 2.0/3.x document: file or URL.")
    ] = None,
    docs: Annotated[
        str | None, typer.Option("--docs", help="API docs page (HTML or Markdown): file or URL.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name for the provider.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the provider JSON here.")
    ] = None,
    upstream_allowlist: Annotated[
        str,
        typer.Option(
            "--upstream-allowlist",
            envvar="AUTHRELAY_UPSTREAM_ALLOWLIST",
            help="Hosts/CIDRs the server allows over http:// (as the server's setting); "
            "their URLs keep the scheme they were given.",
            show_default=False,
        ),
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Propose a provider definition from an OpenAPI document and/or API docs."""
    from authrelay.providers.infer import infer
    from authrelay_client.providers.allowlist import UpstreamAllowlist

    if openapi is None and docs is None:
        raise typer.BadParameter("give --openapi and/or --docs")
    result = infer(
        openapi=common.read_text(openapi, timeout=20) if openapi else None,
        docs=common.read_text(docs, timeout=20) if docs else None,
        name=name,
        allowlist=UpstreamAllowlist(upstream_allowlist.split(",")),
    )
    if output is not None and result.provider is not None:
        output.write_text(json.dumps(result.provider, indent=2) + "\n")
    if as_json:
        typer.echo(result.to_json_text())
    else:
        out.print(result.summary())
        if output is not None and result.provider is not None:
            out.print(f"✅ wrote {output}")
    if result.provider is None:
        if not as_json:
            err.print("❌ no provider could be inferred (see what is missing above)")
        raise typer.Exit(1)
