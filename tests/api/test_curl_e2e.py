"""SPEC §4's curl commands, verbatim, against the real server, with the four documented
example payloads (reference/examples/), each accepted exactly as it is."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from authrelay_client.providers.identifiers import derive_identifier
from tests.support.servers import Server

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "examples"
if not EXAMPLES.is_dir():  # CI lays shared/ beside the clone
    EXAMPLES = Path(os.environ.get("AUTHRELAY_SHARED_DIR", "../shared")) / "reference" / "examples"

TOKEN_CMD = """curl --location "$ENV_URL/oauth/token" \\
  --header 'Content-Type: application/x-www-form-urlencoded' \\
  --data-urlencode 'grant_type=client_credentials' \\
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET\""""
LIST_CMD = """curl --location "$ENV_URL/api/v1/providers?filter.provider_type=CUSTOM&page_size=1000" \\
  --header "Authorization: Bearer $TOKEN\""""
CREATE_CMD = """curl --location "$ENV_URL/api/v1/custom-providers" --header "Authorization: Bearer $TOKEN" \\
  --header "Content-Type: application/json" --data @provider.json"""
UPDATE_CMD = """curl --location --request PUT "$ENV_URL/api/v1/custom-providers/$IDENTIFIER" \\
  --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" --data @provider.json"""
DELETE_CMD = """curl --location --request DELETE "$ENV_URL/api/v1/custom-providers/$IDENTIFIER" \\
  --header "Authorization: Bearer $TOKEN\""""
STATUS = " --silent --show-error --output response.json --write-out '%{http_code}'"


def run_curl(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, Any]:
    proc = subprocess.run(
        ["bash", "-c", command + STATUS],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout), json.loads((cwd / "response.json").read_text())


def example_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) == 4, f"expected the four documented examples in {EXAMPLES}"
    return files


@pytest.mark.parametrize("example", example_files(), ids=lambda p: p.stem)
def test_spec_curl_session(
    example: Path, server: Server, dev_client: dict[str, str], tmp_path: Path
) -> None:
    original = example.read_text()
    definition = json.loads(original)
    identifier = derive_identifier(definition["display_name"])
    env = {
        "ENV_URL": server.url,
        "CLIENT_ID": dev_client["client_id"],
        "CLIENT_SECRET": dev_client["client_secret"],
    }

    status, body = run_curl(TOKEN_CMD, tmp_path, env)
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    env["TOKEN"] = body["access_token"]

    status, body = run_curl(LIST_CMD, tmp_path, env)
    assert status == 200
    assert identifier not in {p["identifier"] for p in body["providers"]}
    assert {"providers", "next_page_token", "prev_page_token", "total_size"} <= set(body)

    (tmp_path / "provider.json").write_text(original)  # byte for byte as documented
    status, body = run_curl(CREATE_CMD, tmp_path, env)
    assert status == 201, body
    created = body["provider"]
    assert created["identifier"] == identifier
    assert created["id"].startswith("prv_")
    assert created["is_custom"] is True and created["is_custom_mcp"] is False
    for key in ("display_name", "description", "proxy_url", "proxy_enabled", "auth_patterns"):
        assert created[key] == definition[key]

    status, body = run_curl(LIST_CMD, tmp_path, env)
    assert status == 200
    listed = {p["identifier"]: p for p in body["providers"]}
    assert listed[identifier] == created
    assert all(p["is_custom"] for p in body["providers"])

    changed = dict(definition)
    changed["description"] = "Updated through PUT"
    changed["display_name"] = definition["display_name"] + " Renamed"
    (tmp_path / "provider.json").write_text(json.dumps(changed))
    env["IDENTIFIER"] = identifier
    status, body = run_curl(UPDATE_CMD, tmp_path, env)
    assert status == 200, body
    updated = body["provider"]
    assert updated["identifier"] == identifier  # never changes with the display name
    assert updated["id"] == created["id"]
    assert updated["description"] == "Updated through PUT"
    assert updated["display_name"] == changed["display_name"]
    assert updated["etag"] != created["etag"]

    status, body = run_curl(DELETE_CMD, tmp_path, env)
    assert status == 200 and body == {}
    status, body = run_curl(LIST_CMD, tmp_path, env)
    assert identifier not in {p["identifier"] for p in body["providers"]}
    status, body = run_curl(DELETE_CMD, tmp_path, env)
    assert status == 404 and body["code"] == 5
