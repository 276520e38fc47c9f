"""`authrelay tools …` against a real server and upstream: import-openapi (plan, confirm,
re-import), list, get, call, delete; `providers promote` and `providers apply` carry tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.profiles import cli_wide as cli
from tests.support.profiles import profiles  # noqa: F401 (fixture)
from tests.support.proxy import enable
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream, provider_definition


def _spec(ops: list[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in ops:
        paths[f"/{op}/{{id}}"] = {
            "get": {
                "operationId": op,
                "summary": f"Read one {op}",
                "tags": ["read"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "X-Api-Key", "in": "header", "schema": {"type": "string"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                ],
            }
        }
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths}


def test_import_call_delete(
    profiles: Path,  # noqa: F811
    tmp_path: Path,
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
) -> None:
    name = f"Cli Tools {unique}"
    ident = f"clitools{unique}"
    definition = provider_definition(name, upstream, auth_header_key_override="X-Api-Key")
    with server.api(dev_client) as api:
        enable(api, definition, f"cli-{unique}", "hana", {"api_key": "key-hana"})
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_spec(["widget", "gadget"])))

    refused = cli(profiles, "tools", "import-openapi", str(spec), "--provider", ident)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "create" in refused.stdout and f"{ident}_widget" in refused.stdout
    listed = cli(profiles, "tools", "list", "--provider", ident, "--json", check=True)
    assert json.loads(listed.stdout) == []  # not confirmed: nothing changed

    done = cli(
        profiles, "tools", "import-openapi", str(spec), "--provider", ident, "--yes", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)["result"]
    assert sorted(result["created"]) == [f"{ident}_gadget", f"{ident}_widget"]

    got = json.loads(cli(profiles, "tools", "get", f"{ident}_widget", check=True).stdout)
    assert got["binding"]["path"] == "/widget/{id}"
    assert "X-Api-Key" not in json.dumps(got["definition"]["input_schema"])  # injected: dropped

    called = cli(
        profiles, "tools", "call", f"{ident}_widget", "--params", '{"id": "w1", "verbose": true}',
        "--identifier", "hana", check=True,
    )  # fmt: skip
    answer = json.loads(called.stdout)
    assert answer["execution_id"].startswith("exe_")
    assert answer["data"]["path"] == "/api/widget/w1?verbose=true"
    assert upstream.requests[-1].header("X-Api-Key") == "key-hana"
    bad = cli(
        profiles, "tools", "call", f"{ident}_widget", "--params", "{}", "--identifier", "hana"
    )
    assert bad.returncode == 1 and "params.id" in bad.stderr

    # re-import of a smaller document: the missing operation's tool goes, after the plan
    spec.write_text(json.dumps(_spec(["widget"])))
    again = cli(profiles, "tools", "import-openapi", str(spec), "--provider", ident, "--yes")
    assert again.returncode == 0 and "delete" in again.stdout and f"{ident}_gadget" in again.stdout
    only = cli(profiles, "tools", "import-openapi", str(spec), "--provider", ident, "--yes")
    assert only.returncode == 0 and "already up to date" in only.stdout

    deleted = cli(profiles, "tools", "delete", f"{ident}_widget", "--yes", check=True)
    assert "✅" in deleted.stdout
    missing = cli(profiles, "tools", "get", f"{ident}_widget")
    assert missing.returncode == 1


def test_promote_and_apply_carry_tools(
    profiles: Path,  # noqa: F811
    tmp_path: Path,
    server: Server,
    prod_client: dict[str, str],
    unique: str,
) -> None:
    name = f"Carry {unique}"
    ident = f"carry{unique}"
    folder = tmp_path / "providers"
    folder.mkdir()
    provider = {
        "display_name": name,
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token"}]}],
        "proxy_url": "https://api.example.com",
        "proxy_enabled": True,
        "tools": [
            {
                "definition": {
                    "name": f"{ident}_ping",
                    "description": "Ping",
                    "input_schema": {"type": "object", "properties": {}},
                },
                "binding": {"method": "GET", "path": "/ping"},
            }
        ],
    }
    (folder / "carry.json").write_text(json.dumps(provider))
    applied = cli(
        profiles, "providers", "apply", str(folder), "--profile", "dev", "--yes", "--json"
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    results = json.loads(applied.stdout)["results"]
    assert [r["action"] for r in results] == ["create", "tools"]
    assert results[1]["result"]["created"] == [f"{ident}_ping"]

    promoted = cli(profiles, "providers", "promote", name, "--yes")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert f"{ident}_ping" in promoted.stdout and "1 to create" in promoted.stdout
    with server.api(prod_client) as prod:
        tools = prod.get("/api/v1/tools", params={"filter.provider": ident, "view": "full"}).json()
        assert [t["definition"]["name"] for t in tools["tools"]] == [f"{ident}_ping"]
        assert tools["tools"][0]["binding"]["path"] == "/ping"

    # the file drops the tool: apply removes it in dev; promote then removes it in production
    provider["tools"] = []
    (folder / "carry.json").write_text(json.dumps(provider))
    cli(profiles, "providers", "apply", str(folder), "--profile", "dev", "--yes", check=True)
    again = cli(profiles, "providers", "promote", name, "--yes")
    assert again.returncode == 0 and "1 to delete" in again.stdout, again.stdout + again.stderr
    with server.api(prod_client) as prod:
        left = prod.get("/api/v1/tools", params={"filter.provider": ident}).json()
        assert left["tools"] == []
