"""`authrelay tools …`: list, get, import-openapi, delete, call — on top of the SDK.

Like `providers`, every remote call's outcome is labelled ✅ or ❌ and `--json` prints
machine-readable results; `import-openapi` plans, shows the diff and asks before changing.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from authrelay.cli import common
from authrelay.cli.common import JsonOpt, ProfileOpt, YesOpt, err, out, sync_with_plan
from authrelay.tools import DEFAULT_MAX_TOOLS
from authrelay_client.providers.diff import definition_of
from authrelay_client.wire import ProviderDefinitionBody

app = typer.Typer(help="Tools: list, get, import from OpenAPI, delete, call.", no_args_is_help=True)


def credential_params(provider: ProviderDefinitionBody) -> set[tuple[str, str]]:
    """(location, lower-case name) of what the provider's patterns inject: the header
    (Authorization or the override), the `auth_query_param` and `proxy_headers`."""
    found = {("header", "authorization")}
    headers = provider.get("proxy_headers")
    found.update(("header", str(n).lower()) for n in headers or {} if isinstance(headers, dict))
    for pattern in provider.get("auth_patterns", []) or []:
        if not isinstance(pattern, dict):
            continue
        override = pattern.get("auth_header_key_override")
        if isinstance(override, str) and override:
            found.add(("header", override.lower()))
        query = pattern.get("auth_query_param")
        if isinstance(query, str) and query:
            found.add(("query", query.lower()))
        own = pattern.get("proxy_headers")
        found.update(("header", str(n).lower()) for n in own or {} if isinstance(own, dict))
    return found


@app.command("list")
def list_tools(
    profile: ProfileOpt = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="Words to look for.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The environment's tools (name, provider, method and path, description)."""
    with common.client(profile) as (client, _):
        if query:
            tools = [
                r.tool for r in client.tools.search(query, [provider] if provider else None, 100)
            ]
        else:
            tools = client.tools.list(provider)
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tools], indent=2))
        return
    from rich.table import Table

    table = Table("name", "provider", "description")
    for tool in tools:
        table.add_row(tool.name, tool.provider, str(tool.definition.get("description", ""))[:70])
    out.print(table)
    out.print(f"{len(tools)} tool(s)")


@app.command("get")
def get_tool(
    name: Annotated[str, typer.Argument(help="Tool name or id (tol_…).")],
    profile: ProfileOpt = None,
) -> None:
    """One tool as JSON, with its binding."""
    with common.client(profile) as (client, _):
        tool = client.tools.get(name)
    typer.echo(json.dumps(tool.model_dump(mode="json"), indent=2))


@app.command("delete")
def delete_tool(
    name: Annotated[str, typer.Argument(help="Tool name or id (tol_…).")],
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete one tool (after confirmation)."""
    with common.client(profile) as (client, _):
        if not common.confirm(f"Delete tool {name!r}?", yes, explain=True):
            raise typer.Exit(1)
        client.tools.delete(name)
    common.ok(f"deleted {name}", as_json, deleted=name)


@app.command("call")
def call_tool(
    name: Annotated[str, typer.Argument(help="Tool name.")],
    params: Annotated[str, typer.Option("--params", help="Inputs as a JSON object.")] = "{}",
    identifier: Annotated[
        str | None, typer.Option("--identifier", help="End user's identifier.")
    ] = None,
    connector: Annotated[str | None, typer.Option("--connector", help="Connection name.")] = None,
    account: Annotated[
        str | None, typer.Option("--connected-account-id", help="Instead of --identifier.")
    ] = None,
    run: Annotated[str | None, typer.Option("--agent-run-id", help="Groups calls.")] = None,
    profile: ProfileOpt = None,
) -> None:
    """Run a tool for one end user and print `{data, execution_id}`."""
    inputs = common.json_object(params, "--params")
    with common.client(profile) as (client, _):
        result = client.actions.execute_tool(
            name,
            inputs,
            identifier=identifier,
            connector=connector,
            connected_account_id=account,
            agent_run_id=run,
        )
    typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))


@app.command("import-openapi")
def import_openapi(
    spec: Annotated[str, typer.Argument(help="OpenAPI 2.0/3.0/3.1 document: file or URL.")],
    provider: Annotated[str, typer.Option("--provider", help="Provider the tools call.")],
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Only tag:TAG or op:OPERATION_ID (repeatable)."),
    ] = None,
    max_tools: Annotated[
        int, typer.Option("--max-tools", help="Refuse documents with more operations.")
    ] = DEFAULT_MAX_TOOLS,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep tools of earlier imports not in this one.")
    ] = False,
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate one tool per operation; plan → diff → confirm, like `providers update`.
    Tools of an earlier import that the document no longer has are deleted (not with
    --keep); hand-written tools are never touched."""
    from authrelay.tools.generate import GenerationError, generate_tools, load_document

    try:
        document = load_document(common.read_bytes(spec, timeout=30))
    except GenerationError as exc:
        raise common.fail(str(exc), as_json) from None
    with common.client(profile) as (client, _):
        found = client.providers.get(provider)
        details = definition_of(found.model_dump(mode="json"))
        try:
            generated = generate_tools(
                document,
                found.identifier,
                proxy_url=found.proxy_url or "",
                credentials=credential_params(details),
                include=include or [],
                max_tools=max_tools,
            )
        except GenerationError as exc:
            raise common.fail(str(exc), as_json) from None
        if not as_json:
            out.print(
                f"{generated.operations} operation(s) in the document (OpenAPI "
                f"{generated.version}); {len(generated.tools)} tool(s) generated"
            )
            for skipped in generated.skipped:
                err.print(f"skipped {skipped}")
        result = sync_with_plan(
            client,
            found.identifier,
            generated.tools,
            prune="none" if keep else "source",
            source="openapi",
            yes=yes,
            as_json=as_json,
            question=f"Apply these tool changes to {found.identifier}?",
        )
    summary = result.model_dump(mode="json") if result else {"changes": 0}
    common.ok(
        "tools imported" if result else "tools already up to date",
        as_json,
        result=summary,
        skipped=generated.skipped,
        operations=generated.operations,
    )
