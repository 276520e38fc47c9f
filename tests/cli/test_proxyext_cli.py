"""`auth_query_param`, `proxy_headers` and `retry` through the client side: `providers diff`
shows them, `promote` and `get` carry them, the SDK's Provider keeps them in
`definition()`, and `tools import` drops the parameters the provider injects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authrelay.cli.tools import credential_params
from authrelay_client.models import DEFINITION_FIELDS, Provider
from tests.support.profiles import InProcess, ok
from tests.support.servers import Server


@pytest.fixture
def run(
    server: Server,
    tmp_path: Path,
) -> InProcess:
    run = InProcess(tmp_path / "config")
    run.save_profiles(server.backend, "dev", "production")
    return run


def _definition(name: str, **changes: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [
                    {"field_name": "api_key", "input_type": "password"},
                    {"field_name": "app_id"},
                ],
                "auth_query_param": "key",
                "proxy_headers": {"X-App-Id": "{{app_id}}"},
            }
        ],
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
        "proxy_headers": {"Api-Version": "2024-01-01"},
        "retry": {"max_attempts": 3},
    }
    definition.update(changes)
    return definition


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def test_diff_get_and_promote_carry_the_extensions(
    run: InProcess, tmp_path: Path, unique: str
) -> None:
    name, ident = f"Ext {unique}", f"ext{unique}"
    base = _write(tmp_path / "base.json", _definition(name))
    ok(run("providers", "create", str(base), "--profile", "dev", "--yes"))
    assert ok(run("providers", "diff", ident, str(base), "--exit-code")).returncode == 0

    changed = _definition(
        name,
        proxy_headers={"Api-Version": "2025-01-01"},
        retry={"max_attempts": 3, "on_status": [503]},
    )
    changed["auth_patterns"][0]["auth_query_param"] = "apikey"
    changed["auth_patterns"][0]["proxy_headers"]["X-Extra"] = "1"
    diff = run("providers", "diff", ident, str(_write(tmp_path / "c.json", changed)), "--json")
    paths = {c["path"]: c for c in json.loads(diff.stdout)["changes"]}
    assert paths["proxy_headers.Api-Version"]["current"] == "2024-01-01"
    assert paths["proxy_headers.Api-Version"]["proposed"] == "2025-01-01"
    # Lists of numbers are compared item by item; the current value is the default.
    assert paths["retry.on_status[0]"]["current"] == 429
    assert paths["retry.on_status[0]"]["proposed"] == 503
    assert paths["retry.on_status[3]"]["kind"] == "removed"
    assert paths["auth_patterns[API_KEY].auth_query_param"]["proposed"] == "apikey"
    assert paths["auth_patterns[API_KEY].proxy_headers.X-Extra"]["kind"] == "added"
    table = run("providers", "diff", ident, str(tmp_path / "c.json")).stdout
    assert "proxy_headers.Api-Version" in table and "retry.on_status" in table

    got = json.loads(ok(run("providers", "get", ident)).stdout)
    assert got["proxy_headers"] == {"Api-Version": "2024-01-01"}
    assert got["retry"] == {"max_attempts": 3}
    assert got["auth_patterns"][0]["auth_query_param"] == "key"

    ok(run("providers", "promote", ident, "--from", "dev", "--to", "production", "--yes"))
    promoted = json.loads(ok(run("providers", "get", ident, "--profile", "production")).stdout)
    assert promoted["proxy_headers"] == got["proxy_headers"]
    assert promoted["retry"] == got["retry"]
    again = ok(run("providers", "promote", ident, "--from", "dev", "--to", "production"))
    assert "nothing to change" in again.stdout
    ok(run("providers", "delete", ident, "--yes"))
    ok(run("providers", "delete", ident, "--yes", "--profile", "production"))


def test_sdk_provider_keeps_the_extensions_in_its_definition() -> None:
    assert {"proxy_headers", "retry"} <= set(DEFINITION_FIELDS)
    provider = Provider.model_validate(
        {"id": "prv_1", "identifier": "x", "etag": "e", **_definition("X")}
    )
    definition = provider.definition()
    assert definition["proxy_headers"] == {"Api-Version": "2024-01-01"}
    assert definition["retry"] == {"max_attempts": 3}
    plain = Provider.model_validate({"display_name": "Y", "proxy_url": "https://y.example"})
    assert "proxy_headers" not in plain.definition() and "retry" not in plain.definition()


def test_tools_import_drops_what_the_provider_injects() -> None:
    found = credential_params(_definition("X"))
    assert {("query", "key"), ("header", "x-app-id"), ("header", "api-version")} <= found
    assert ("header", "authorization") in found
