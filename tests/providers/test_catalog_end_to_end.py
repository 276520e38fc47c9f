"""Every built-in provider (issue 12, part 9).

Each has the fields its pattern needs and agrees with its row in docs/catalog.md's Sources
table (test_catalog_sources.py checks the table itself); and each pattern of each works end
to end through the real server: a connection, a connected account, and a proxied call whose credentials reach a
local recording upstream (AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE) in the provider's scheme.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from authrelay.providers.catalog import BuiltinProvider, load_catalog
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.providers.model import AuthPattern, ProviderDefinition
from tests.conftest import new_backend
from tests.support.servers import Backend, Server, create_client, start_server
from tests.support.upstream import Recorded, RecordingUpstream

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "docs" / "catalog.md"
HEADER = "| Provider | Identifier | Auth | Official documentation |"
ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| `(?P<ident>[a-z0-9]+)` \| (?P<auth>[A-Z_]+(?:, [A-Z_]+)*) "
    r"\| <(?P<url>[^<>\s]+)> \|$"
)
NEEDS = {"BASIC": "username", "BEARER": "token", "API_KEY": "api_key"}


def _rows() -> list[dict[str, str]]:
    text = SOURCES.read_text(encoding="utf-8")
    lines = text[text.index("\n## Sources") :].splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[:2] == [HEADER, "|---|---|---|---|"], table[:2]
    rows = []
    for line in table[2:]:
        match = ROW.fullmatch(line)
        assert match is not None, f"malformed row: {line}"
        rows.append(match.groupdict())
    return rows


ROWS = _rows()
CATALOG = load_catalog()


def pattern_problems(definition: ProviderDefinition) -> list[str]:
    """What a catalog entry lacks for its patterns (empty when it has everything)."""
    problems = []
    if not definition.proxy_url.startswith("https://"):
        problems.append("proxy_url is not an https URL")
    for i, pattern in enumerate(definition.auth_patterns):
        if pattern.type == "OAUTH":
            oauth = pattern.oauth_config
            machine = oauth is not None and oauth.grant_type == "client_credentials"
            for key in ("token_uri",) if machine else ("authorize_uri", "token_uri"):
                value = getattr(oauth, key) if oauth else None
                if not value or not value.startswith("https://"):
                    problems.append(f"auth_patterns[{i}].oauth_config.{key} is missing")
        else:
            names = {f.field_name for f in pattern.fields}
            if NEEDS[pattern.type] not in names:
                problems.append(f"auth_patterns[{i}] has no {NEEDS[pattern.type]!r} field")
    return problems


def _entry(ident: str) -> BuiltinProvider:
    entry = CATALOG.get(ident)
    assert entry is not None, f"{ident} is cited in {SOURCES.name} but not in the catalog"
    return entry


@pytest.mark.parametrize("row", ROWS, ids=[row["ident"] for row in ROWS])
def test_each_entry_has_what_its_pattern_needs(row: dict[str, str]) -> None:
    entry = _entry(row["ident"])
    definition = entry.definition
    assert definition.display_name == row["name"]
    assert derive_identifier(row["name"]) == row["ident"]
    kinds = list(dict.fromkeys(p.type for p in definition.auth_patterns))
    assert ", ".join(kinds) == row["auth"]
    assert pattern_problems(definition) == []
    assert definition.proxy_enabled and definition.description
    assert entry.categories and all(re.fullmatch(r"[a-z]+(-[a-z]+)*", c) for c in entry.categories)
    for pattern in definition.auth_patterns:
        assert pattern.display_name and pattern.description
        if pattern.oauth_config:
            scopes = [s.scope for s in pattern.oauth_config.available_scopes]
            assert all(s.strip() == s and s for s in scopes)


def test_the_pattern_check_catches_what_is_missing() -> None:
    okta = _entry("okta").definition
    broken = copy.deepcopy(okta)
    oauth = broken.auth_patterns[0].oauth_config
    assert oauth is not None
    oauth.token_uri = None
    broken.auth_patterns[1].fields = [
        f for f in broken.auth_patterns[1].fields if f.field_name != "api_key"
    ]
    assert pattern_problems(broken) == [
        "auth_patterns[0].oauth_config.token_uri is missing",
        "auth_patterns[1] has no 'api_key' field",
    ]
    plain = copy.deepcopy(_entry("mailgun").definition)
    plain.proxy_url = "http://api.mailgun.net"
    assert pattern_problems(plain) == ["proxy_url is not an https URL"]
    assert pattern_problems(okta) == []


# --- end to end ------------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# What the providers' documentation says the credential looks like on the wire, written out
# by hand for the schemes that are not a plain bearer token: (identifier, type) → function
# of the account's values → (header, value).
DOCUMENTED: dict[tuple[str, str], Any] = {
    ("shopify", "API_KEY"): lambda v: ("X-Shopify-Access-Token", v["api_key"]),
    ("okta", "API_KEY"): lambda v: ("Authorization", f"SSWS {v['api_key']}"),
    ("opsgenie", "API_KEY"): lambda v: ("Authorization", f"GenieKey {v['api_key']}"),
    ("snyk", "API_KEY"): lambda v: ("Authorization", f"token {v['api_key']}"),
    ("statuspage", "API_KEY"): lambda v: ("Authorization", f"OAuth {v['api_key']}"),
    ("shippo", "API_KEY"): lambda v: ("Authorization", f"ShippoToken {v['api_key']}"),
    ("readwise", "API_KEY"): lambda v: ("Authorization", f"Token {v['api_key']}"),
    ("pandadoc", "API_KEY"): lambda v: ("Authorization", f"API-Key {v['api_key']}"),
    ("postmark", "API_KEY"): lambda v: ("X-Postmark-Server-Token", v["api_key"]),
    ("newrelic", "API_KEY"): lambda v: ("Api-Key", v["api_key"]),
    ("pinecone", "API_KEY"): lambda v: ("Api-Key", v["api_key"]),
    ("qualtrics", "API_KEY"): lambda v: ("X-API-TOKEN", v["api_key"]),
    ("rollbar", "API_KEY"): lambda v: ("X-Rollbar-Access-Token", v["api_key"]),
    ("shortcut", "API_KEY"): lambda v: ("Shortcut-Token", v["api_key"]),
    ("postman", "API_KEY"): lambda v: ("X-Api-Key", v["api_key"]),
    ("mistralai", "API_KEY"): lambda v: ("Authorization", f"Bearer {v['api_key']}"),
    ("mailgun", "BASIC"): lambda v: ("Authorization", _basic("api", v["password"])),
    ("mailchimp", "BASIC"): lambda v: ("Authorization", _basic("anystring", v["password"])),
    ("toggltrack", "BASIC"): lambda v: ("Authorization", _basic(v["username"], "api_token")),
    ("mercury", "BASIC"): lambda v: ("Authorization", _basic(v["username"], "")),
    ("razorpay", "BASIC"): lambda v: ("Authorization", _basic(v["username"], v["password"])),
    ("vercel", "BEARER"): lambda v: ("Authorization", f"Bearer {v['token']}"),
    ("youtube", "OAUTH"): lambda v: ("Authorization", f"Bearer {v['access_token']}"),
    # keys in the query: (the header the key would otherwise take, the parameter's value)
    ("openweathermap", "API_KEY"): lambda v: ("Authorization", v["api_key"]),
    ("googlemaps", "API_KEY"): lambda v: ("Authorization", v["api_key"]),
}


def _expected(pattern: AuthPattern, values: dict[str, str]) -> tuple[str, str]:
    """The header the SPEC §8 rules give for this pattern and these account values."""
    m = pattern.auth_field_mutations

    def mutated(name: str, mutation: Any) -> str:
        value = values.get(name, "")
        if mutation is None:
            return value
        if not value and mutation.default is not None:
            value = mutation.default
        return f"{mutation.prefix or ''}{value}{mutation.suffix or ''}"

    if pattern.type == "BASIC":
        user = mutated("username", m.username if m else None)
        password = mutated("password", m.password if m else None)
        value = _basic(user, password)
    elif pattern.type == "API_KEY":
        value = mutated("api_key", m.api_key if m else None)
    else:
        key = "access_token" if pattern.type == "OAUTH" else "token"
        value = "Bearer " + mutated(key, m.token if m else None)
    return pattern.auth_header_key_override or "Authorization", value


CASES = [
    (row["ident"], pattern.type)
    for row in ROWS
    for pattern in _entry(row["ident"]).definition.auth_patterns
]


@pytest.fixture(scope="module")
def recording() -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream().start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def catalog_server(
    backend: Backend, recording: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    own = new_backend(backend.name, tmp_path_factory.mktemp("catalog-e2e-data"))
    server = start_server(
        own,
        tmp_path_factory.mktemp("catalog-e2e"),
        AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE=recording.url,
    )
    try:
        yield server, create_client(own, "dev")
    finally:
        server.stop()


def _connect(
    api: httpx.Client, ident: str, pattern: AuthPattern, name: str, who: str
) -> dict[str, str]:
    """A connection and connected account for one pattern; the account's values."""
    body: dict[str, Any] = {"provider_key": ident, "key_id": name, "type": pattern.type}
    values: dict[str, str] = {}
    connected: dict[str, Any] = {}
    token = f"{ident}-{secrets.token_hex(6)}"
    if pattern.type == "OAUTH" and not _client_credentials(pattern):
        body["oauth_config"] = {"client_id": "cid", "client_secret": "csecret"}
        values["access_token"] = token
        connected["authorization_details"] = {"oauth_token": {"access_token": token}}
        if pattern.account_fields:
            connected["api_config"] = {
                "path_variables": {f.field_name: "acme" for f in pattern.account_fields}
            }
    else:
        for f in pattern.fields:
            if f.field_name == "domain":
                values["domain"] = "acme"
            elif f.required:  # optional ones are left out, so their defaults apply
                values[f.field_name] = f"{f.field_name}-{token}"
        connected["authorization_details"] = {"static_auth": {"details": values}}
    made = api.post("/api/v1/connections", params={"flags.is_app": "true"}, json=body)
    assert made.status_code == 201, (ident, made.text)
    account = api.post(
        "/api/v1/connected_accounts",
        json={"connector": name, "identifier": who, "connected_account": connected},
    )
    assert account.status_code == 201, (ident, account.text)
    return values


def test_each_entry_works_end_to_end_through_the_proxy(
    catalog_server: tuple[Server, dict[str, str]], recording: RecordingUpstream
) -> None:
    server, client = catalog_server
    unique = secrets.token_hex(4)
    who = f"cat-user-{unique}"
    documented_seen = set()
    granted = 0
    with server.api(client) as api:
        for ident, kind in CASES:
            definition = _entry(ident).definition
            pattern = next(p for p in definition.auth_patterns if p.type == kind)
            name = f"cat-{ident}-{kind.lower().replace('_', '-')}-{unique}"
            values = _connect(api, ident, pattern, name, who)
            if _client_credentials(pattern):
                # The token comes from the vendor's token endpoint, which these tests cannot
                # reach (tests/oauth/test_client_credentials.py runs the grant end to end
                # against a local authorization server): the account is active and waits
                # for its first call.
                found = api.get(
                    "/api/v1/connected_accounts",
                    params={"connector": name, "identifier": who},
                )
                assert found.status_code == 200, (ident, found.text)
                (account,) = found.json()["connected_accounts"]
                assert account["status"] == "ACTIVE", (ident, account)
                granted += 1
                continue
            recording.clear()
            response = api.get(
                "/proxy/probe/1",
                params={"q": "x"},
                headers={"connection_name": name, "identifier": who},
            )
            assert response.status_code == 200, (ident, kind, response.text)
            assert len(recording.requests) == 1, (ident, kind)
            seen: Recorded = recording.requests[0]
            path, _, query = seen.raw_path.partition("?")
            assert path == f"/{ident}/probe/1", (ident, kind)
            header, value = _expected(pattern, values)
            if pattern.auth_query_param:
                # The credential goes in the query instead of a header.
                assert parse_qsl(query) == [("q", "x"), (pattern.auth_query_param, value)]
                assert seen.header(header) is None, (ident, kind)
            else:
                assert query == "q=x", (ident, kind)
                assert seen.header(header) == value, (ident, kind, header)
            if header != "Authorization" or pattern.auth_query_param:
                # authrelay's own credential never goes upstream
                assert seen.header("Authorization") is None, (ident, kind)
            for fixed, sent in {
                **(definition.proxy_headers or {}),
                **(pattern.proxy_headers or {}),
            }.items():
                # A fixed header is a default: the caller's own value (httpx sends an
                # `Accept`) wins.
                expected = response.request.headers.get(fixed, sent)
                assert seen.header(fixed) == expected, (ident, kind, fixed)
            if (ident, kind) in DOCUMENTED:
                assert DOCUMENTED[(ident, kind)](values) == (header, value), (ident, kind)
                documented_seen.add((ident, kind))
    assert documented_seen == set(DOCUMENTED)
    assert granted >= 2  # PayPal and Amadeus


def _client_credentials(pattern: AuthPattern) -> bool:
    return pattern.oauth_config is not None and (
        pattern.oauth_config.grant_type == "client_credentials"
    )
