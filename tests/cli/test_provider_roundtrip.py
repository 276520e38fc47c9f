"""The provider workflow round-trips (points 6 to 11 of the first-hour review): `get`
output goes back into `create`/`update` for every built-in provider and every shipped
example; `apply` is idempotent; `diff` JSON, exit code and full-width tables; warnings only
for auth changes; `promote` with nothing to do; typo suggestions; `infer` keeps http:// for
allow-listed hosts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import authrelay_client
from authrelay_client.providers.diff import definition_of
from tests.support.profiles import InProcess, ok, one_error
from tests.support.servers import Server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture
def run(
    server: Server,
    tmp_path: Path,
) -> InProcess:
    run = InProcess(tmp_path / "config")
    run.save_profiles(server.backend, "dev", "production")
    return run


def _sample(builtins: list[dict[str, Any]]) -> set[str]:
    """One built-in per auth type, per placeholder use and per mutation use."""
    chosen: dict[str, str] = {}
    for provider in builtins:
        text = json.dumps(provider)
        for pattern in provider["auth_patterns"]:
            traits = [pattern["type"]]
            traits += [
                "{{" if "{{" in text else "",
                "mutations" if "auth_field_mutations" in pattern else "",
            ]
            traits += ["override" if "auth_header_key_override" in pattern else ""]
            for trait in traits:
                chosen.setdefault(trait, provider["identifier"])
    return set(chosen.values())


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def test_get_output_round_trips(
    run: InProcess,
    server: Server,
    dev_client: dict[str, str],
    tmp_path: Path,
    unique: str,
) -> None:
    builtins = json.loads(ok(run("providers", "list", "--type", "default", "--json")).stdout)
    assert len(builtins) >= 40
    made: list[str] = []
    # The whole CLI path (`get` → file → `create` → `get`) for one built-in of each auth
    # type and of each placeholder style; the rest of the catalog (over 150 entries, four
    # CLI calls each would take minutes) goes through the same `get` rendering
    # (`definition_of`, checked equal to `get`'s output below) and the SDK's create.
    sample = _sample(builtins)
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        for index, provider in enumerate(builtins):
            copy = {**definition_of(provider), "display_name": f"Copy {index} {unique}"}
            ident = f"copy{index}{unique}"
            if provider["identifier"] in sample:
                # A built-in provider's definition, as `get` prints it, is accepted by `create`.
                shown = json.loads(ok(run("providers", "get", provider["identifier"])).stdout)
                assert "id" not in shown and "etag" not in shown and "categories" not in shown
                assert {**shown, "display_name": copy["display_name"]} == copy
                created = run(
                    "providers", "create", str(_write(tmp_path / "b.json", copy)), "--yes"
                )
                assert "✅ created" in ok(created).stdout, provider["identifier"]
                again = json.loads(ok(run("providers", "get", ident)).stdout)
            else:
                stored = client.providers.create(copy)
                again = definition_of(stored.model_dump(mode="json", exclude_unset=True))
            made.append(ident)
            assert again == copy, provider["identifier"]
    # `delete` through the CLI once; the other copies through the SDK.
    ok(run("providers", "delete", made[0], "--yes"))
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        for ident in made[1:]:
            client.providers.delete(ident)
        left = {p.identifier for p in client.providers.list("custom")}
    assert not left & set(made)


def test_every_example_is_checked() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_an_example_round_trips_through_get_and_update(
    run: InProcess,
    server: Server,
    dev_client: dict[str, str],
    tmp_path: Path,
    unique: str,
    example: Path,
) -> None:
    definition = json.loads(example.read_text())
    definition["display_name"] = f"Example {unique}"
    ident = f"example{unique}"
    ok(run("providers", "create", str(_write(tmp_path / "e.json", definition)), "--yes"))
    # The full answer, server-set fields and `icon_src: ""` included, goes into update.
    full = json.loads(ok(run("providers", "get", ident, "--full")).stdout)
    assert full["icon_src"] == "" and full["etag"] and full["categories"] == []
    full["description"] = "changed by the round trip"
    updated = run("providers", "update", ident, str(_write(tmp_path / "f.json", full)), "--yes")
    assert f"✅ updated {ident}" in ok(updated).stdout
    # The plain `get` output updates to "nothing to change".
    plain = _write(tmp_path / "g.json", json.loads(ok(run("providers", "get", ident)).stdout))
    same = ok(run("providers", "update", ident, str(plain), "--yes")).stdout
    assert "nothing to change" in same
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        client.providers.delete(ident)
        assert ident not in {p.identifier for p in client.providers.list("custom")}


def test_apply_twice_writes_nothing_the_second_time(
    run: InProcess, server: Server, dev_client: dict[str, str], tmp_path: Path, unique: str
) -> None:
    folder = tmp_path / "providers"
    folder.mkdir()
    minimal = {  # no description, no pattern display_name, no optional field settings
        "display_name": f"Apply Min {unique}",
        "auth_patterns": [{"type": "API_KEY", "fields": [{"field_name": "api_key"}]}],
        "proxy_url": "https://api.example.com",
    }
    _write(folder / "min.json", minimal)
    # A built-in catalog file (with `categories`, `display_priority`) is reusable as it is.
    catalog = ROOT / "src" / "authrelay" / "providers" / "catalog" / "airtable.json"
    table = json.loads(catalog.read_text())
    assert "categories" in table
    _write(folder / "catalog.json", {**table, "display_name": f"Apply Cat {unique}"})
    mine_only = {"resource_type": "provider", "resource_id": f"applymin{unique}"}
    first = ok(run("providers", "apply", str(folder), "--yes"))
    assert f"create applymin{unique}" in first.stdout
    assert f"create applycat{unique}" in first.stdout
    with server.api(dev_client) as api:
        before = api.get(f"/api/v1/providers/applymin{unique}").json()["provider"]["etag"]
        audit = api.get("/api/v1/audit-logs", params=mine_only).json()["audit_logs"]
        assert len(audit) == 1  # the create
    second = json.loads(ok(run("providers", "apply", str(folder), "--yes", "--json")).stdout)
    mine = [p for p in second["plan"] if p["identifier"] == f"applymin{unique}"]
    assert mine == [{"action": "unchanged", "identifier": f"applymin{unique}"}]
    cat = [p for p in second["plan"] if p["identifier"] == f"applycat{unique}"]
    assert cat == [{"action": "unchanged", "identifier": f"applycat{unique}"}]
    assert all(p["action"] in {"unchanged", "extra"} for p in second["plan"])
    with server.api(dev_client) as api:
        after = api.get(f"/api/v1/providers/applymin{unique}").json()["provider"]["etag"]
        assert api.get("/api/v1/audit-logs", params=mine_only).json()["audit_logs"] == audit
    assert after == before
    ok(run("providers", "delete", f"applymin{unique}", "--yes"))
    ok(run("providers", "delete", f"applycat{unique}", "--yes"))


def _oauth(name: str, scopes: list[str], description: str = "d") -> dict[str, Any]:
    return {
        "display_name": name,
        "description": description,
        "auth_patterns": [
            {
                "type": "OAUTH",
                "oauth_config": {
                    "authorize_uri": "https://auth.example.com/authorize",
                    "token_uri": "https://auth.example.com/token",
                    "available_scopes": [{"scope": s} for s in scopes],
                },
            }
        ],
        "proxy_url": "https://api.example.com",
    }


def test_diff_update_promote_and_names(run: InProcess, tmp_path: Path, unique: str) -> None:
    name, ident = f"Flow {unique}", f"flow{unique}"
    base = _write(tmp_path / "base.json", _oauth(name, ["read"]))
    created = ok(run("providers", "create", str(base), "--profile", "dev", "--yes"))
    assert "→ target: profile dev (" in created.stderr  # the target, before the change

    # diff: a missing value is null in JSON; --exit-code like git diff; nothing cut.
    long_scope = "scope." + "x" * 90
    wider = _write(tmp_path / "wider.json", _oauth(name, ["read", long_scope]))
    diff = run("providers", "diff", ident, str(wider), "--json", "--exit-code")
    assert diff.returncode == 1
    changes = json.loads(diff.stdout)["changes"]
    added = [c for c in changes if c["kind"] == "added"]
    assert added and added[0]["current"] is None and "\\u2014" not in diff.stdout
    assert ok(run("providers", "diff", ident, str(base), "--exit-code")).returncode == 0
    table = run("providers", "diff", ident, str(wider)).stdout
    assert f"available_scopes[{long_scope}]" in table and "…" not in table

    # update: a description change does not warn about connections; an auth change does.
    described = _write(tmp_path / "desc.json", _oauth(name, ["read"], "new words"))
    quiet = ok(run("providers", "update", ident, str(described), "--yes")).stdout
    assert "✅ updated" in quiet and "connections may need" not in quiet
    loud = ok(run("providers", "update", ident, str(wider), "--yes")).stdout
    assert "connections may need to be recreated" in loud

    # promote: creates in production, then says there is nothing to change.
    first = ok(run("providers", "promote", ident, "--from", "dev", "--to", "production", "--yes"))
    assert "created" in first.stdout and "→ target: profile production (" in first.stderr
    again = ok(run("providers", "promote", ident, "--from", "dev", "--to", "production"))
    assert "nothing to change" in again.stdout and "┏" not in again.stdout

    # names: the closest custom provider is suggested; a built-in one is named as such.
    typo = one_error(run("providers", "update", ident[:-1] + "q", str(base), "--yes"))
    assert f"did you mean '{ident}'?" in typo
    builtin = one_error(run("providers", "delete", "github", "--yes"))
    assert "'github' is a built-in provider" in builtin
    ok(run("providers", "delete", ident, "--yes"))
    ok(run("providers", "delete", ident, "--yes", "--profile", "production"))


def test_infer_keeps_http_for_allowlisted_hosts(run: InProcess, tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "Echo API", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9911/v1"}],
        "components": {
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        },
        "security": [{"key": []}],
        "paths": {"/hello": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    source = _write(tmp_path / "openapi.json", spec)
    kept = json.loads(
        ok(
            run(
                "providers", "infer", "--openapi", str(source), "--json",
                AUTHRELAY_UPSTREAM_ALLOWLIST="127.0.0.1",
            )
        ).stdout
    )  # fmt: skip
    provider = kept["provider"]
    assert provider["proxy_url"] == "http://127.0.0.1:9911/v1"
    hint = provider["auth_patterns"][0]["fields"][0]["hint"]
    assert hint == "Your Echo API key" and "API API" not in json.dumps(provider)
    assert not any("https" in a for a in kept["assumptions"])
    # Without the allow-list the server would refuse http://, so https:// is proposed.
    elsewhere = json.loads(run("providers", "infer", "--openapi", str(source), "--json").stdout)
    assert any("assumed https://" in a for a in elsewhere["assumptions"])
