"""The catalog's sources (issue 12 part 9): every built-in entry has the fields its pattern
needs, passes the custom-provider validator, is cited in docs/catalog.md's Sources table
with an https link to the provider's documentation, and is served by the real server."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from authrelay.providers.catalog import load_catalog
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.providers.urls import check_https_url, placeholders
from tests.support.servers import Server

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "catalog.md"
CATALOG = resources.files("authrelay.providers") / "catalog"
FILES = sorted(p.name for p in CATALOG.iterdir() if p.name.endswith(".json"))
HEADER = "| Provider | Identifier | Auth | Official documentation |"
ROW = re.compile(
    r"^\| (?P<name>[A-Za-z0-9 -]+) \| `(?P<ident>[a-z0-9]+)` \| "
    r"(?P<auth>[A-Z_]+(?:, [A-Z_]+)*) \| <(?P<url>[^<>\s]+)> \|$"
)
NEEDED = {"BASIC": "username", "BEARER": "token", "API_KEY": "api_key"}


def _sources() -> list[dict[str, str]]:
    """The rows of the `## Sources` table, each parsed; a malformed row fails the test."""
    text = DOC.read_text(encoding="utf-8")
    assert "\n## Sources\n" in text, "docs/catalog.md has no '## Sources' section"
    section = text.split("\n## Sources\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[:2] == [HEADER, "|---|---|---|---|"], lines[:2]
    rows = []
    for line in lines[2:]:
        match = ROW.fullmatch(line)
        assert match, f"malformed Sources row: {line!r}"
        rows.append(match.groupdict())
    return rows


SOURCES = _sources()
BY_IDENT = {row["ident"]: row for row in SOURCES}


def _load(name: str) -> dict[str, Any]:
    data = json.loads((CATALOG / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", FILES)
def test_entry_has_the_fields_its_patterns_need(name: str) -> None:
    data = _load(name)
    body = {k: v for k, v in data.items() if k not in {"categories", "display_priority"}}
    definition = validate_definition(body, UpstreamAllowlist([]))  # as for custom providers
    assert isinstance(data.get("categories"), list) and data["categories"], name
    assert all(isinstance(c, str) and c for c in data["categories"])
    assert isinstance(data.get("display_priority"), int)
    assert definition.proxy_url.startswith("https://") and definition.proxy_enabled
    assert definition.description, name
    for pattern in definition.auth_patterns:
        names = [f.field_name for f in pattern.fields]
        inputs = names + [f.field_name for f in pattern.account_fields]
        if pattern.type == "OAUTH":
            oauth = pattern.oauth_config
            machine = oauth is not None and oauth.grant_type == "client_credentials"
            assert pattern.is_mcp or (
                oauth is not None
                and (machine or (oauth.authorize_uri or "").startswith("https://"))
                and (oauth.token_uri or "").startswith("https://")
            ), name
            if machine:  # the client-credentials grant: each account brings its client
                assert {"client_id", "client_secret"} <= set(names), name
            if oauth is not None:
                scopes = [s.scope for s in oauth.available_scopes]
                assert len(scopes) == len(set(scopes)), name
        else:
            assert NEEDED[pattern.type] in names, (name, pattern.type)
            assert not pattern.account_fields
        # every placeholder of the proxy URL is an input of every pattern
        for placeholder in placeholders(definition.proxy_url):
            assert placeholder in inputs, (name, placeholder)


@pytest.mark.parametrize("name", FILES)
def test_entry_is_cited_in_the_sources_table(name: str) -> None:
    data = _load(name)
    ident = name.removesuffix(".json")
    row = BY_IDENT.get(ident)
    assert row is not None, f"{ident} has no row in docs/catalog.md's Sources table"
    assert row["name"] == data["display_name"]
    assert derive_identifier(row["name"]) == ident
    kinds = list(dict.fromkeys(p["type"] for p in data["auth_patterns"]))
    assert row["auth"].split(", ") == kinds, ident
    url = check_https_url(row["url"])
    parts = urlsplit(url)
    assert parts.scheme == "https" and "." in (parts.hostname or ""), url
    assert "example" not in (parts.hostname or ""), url


def test_every_row_names_a_catalog_file_once_in_order() -> None:
    idents = [row["ident"] for row in SOURCES]
    assert len(idents) == len(set(idents)), "a provider is listed twice"
    assert sorted(idents) == sorted(f.removesuffix(".json") for f in FILES)
    names = [row["name"] for row in SOURCES]
    assert names == sorted(names, key=str.casefold), "Sources rows are not sorted by name"


def test_catalog_has_at_least_150_entries() -> None:
    """Issue 12 part 9: the built-in catalog holds at least 150 providers."""
    assert len(load_catalog().entries) >= 150


def test_the_server_lists_every_entry_page_by_page(
    server: Server, dev_client: dict[str, str]
) -> None:
    expected = {f.removesuffix(".json"): _load(f) for f in FILES}
    seen: list[str] = []
    with server.api(dev_client) as api:
        params: dict[str, Any] = {"filter.provider_type": "DEFAULT", "page_size": 40}
        while True:
            response = api.get("/api/v1/providers", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["total_size"] == len(expected)
            for item in body["providers"]:
                data = expected[item["identifier"]]
                assert item["display_name"] == data["display_name"]
                assert item["categories"] == data["categories"]
                assert item["is_custom"] is False
                assert [p["type"] for p in item["auth_patterns"]] == [
                    p["type"] for p in data["auth_patterns"]
                ]
            seen.extend(item["identifier"] for item in body["providers"])
            if not body["next_page_token"]:
                break
            params["page_token"] = body["next_page_token"]
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
        # one entry per pattern shape, fetched on its own
        for ident in ("googlesheets", "azuredevops", "elasticsearch", "huggingface"):
            one = api.get(f"/api/v1/providers/{ident}")
            assert one.status_code == 200, ident
            assert one.json()["provider"]["identifier"] == ident
