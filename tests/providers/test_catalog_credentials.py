"""Catalog entries that send their credential in a vendor's own form, run end to end: one
real server whose built-in providers point at a local recording upstream
(AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE), a connection and a connected account per entry, one
proxied call each, and the header the upstream got compared with the form the vendor's
documentation gives (written out here by hand, not derived from the entry)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import new_backend
from tests.support.servers import Backend, Server, create_client, start_server
from tests.support.upstream import RecordingUpstream


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Case:
    provider: str
    details: dict[str, str]  # what the user enters
    header: str
    value: str  # what the vendor's documentation says arrives
    kind: str | None = None  # the connection type, for entries whose first pattern is OAuth


CASES = [
    Case("assemblyai", {"api_key": "aai-1"}, "Authorization", "aai-1"),
    Case("azureopenai", {"domain": "acme", "api_key": "az-1"}, "api-key", "az-1"),
    Case("cohere", {"api_key": "co-1"}, "Authorization", "Bearer co-1"),
    Case("deepl", {"api_key": "dl-1"}, "Authorization", "DeepL-Auth-Key dl-1"),
    Case("deepgram", {"api_key": "dg-1"}, "Authorization", "Token dg-1"),
    Case("elevenlabs", {"api_key": "el-1"}, "xi-api-key", "el-1"),
    Case("googlegemini", {"api_key": "gm-1"}, "x-goog-api-key", "gm-1"),
    Case("circleci", {"api_key": "cc-1"}, "Circle-Token", "cc-1"),
    Case("fastly", {"api_key": "fa-1"}, "Fastly-Key", "fa-1"),
    Case("cloudflare", {"token": "cf-1"}, "Authorization", "Bearer cf-1"),
    Case("gitea", {"domain": "git.example.com", "api_key": "gt-1"}, "Authorization", "token gt-1"),
    Case("elasticsearch", {"domain": "es.example.com", "api_key": "ZXM="}, "Authorization", "ApiKey ZXM="),
    Case("freshsales", {"domain": "acme", "api_key": "fs-1"}, "Authorization", "Token token=fs-1"),
    Case("baserow", {"api_key": "br-1"}, "Authorization", "Token br-1"),
    Case("activecampaign", {"domain": "acme", "api_key": "ac-1"}, "Api-Token", "ac-1"),
    Case("brevo", {"api_key": "xkeysib-1"}, "api-key", "xkeysib-1"),
    Case("bigcommerce", {"store_hash": "abc123", "api_key": "bc-1"}, "X-Auth-Token", "bc-1"),
    Case("azuredevops", {"organization": "acme", "password": "pat-1"}, "Authorization", _basic("", "pat-1")),
    Case("freshservice", {"domain": "acme", "username": "fsv-1"}, "Authorization", _basic("fsv-1", "X")),
    Case("bamboohr", {"company_domain": "acme", "username": "bhr-1"}, "Authorization", _basic("bhr-1", "x")),
    Case("greenhouse", {"username": "gh-1"}, "Authorization", _basic("gh-1", "")),
    Case("fivetran", {"username": "key", "password": "secret"}, "Authorization", _basic("key", "secret")),
    Case("lemlist", {"password": "lm-1"}, "Authorization", _basic("", "lm-1")),
    Case("dropboxsign", {"username": "ds-1"}, "Authorization", _basic("ds-1", "")),
    Case("bugsnag", {"api_key": "bs-1"}, "Authorization", "token bs-1"),
    Case("capsulecrm", {"token": "cap-1"}, "Authorization", "Bearer cap-1"),
    # the second pattern of OAuth-first entries, chosen with the connection's type
    Case("heroku", {"token": "hk-1"}, "Authorization", "Bearer hk-1", "BEARER"),
    Case("huggingface", {"token": "hf_1"}, "Authorization", "Bearer hf_1", "BEARER"),
    Case("close", {"username": "api_1"}, "Authorization", _basic("api_1", ""), "BASIC"),
    Case("aircall", {"username": "id1", "password": "tok1"}, "Authorization", _basic("id1", "tok1"), "BASIC"),
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog_upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalog_server(
    backend: Backend, catalog_upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    # A store of its own: stopping this server must not touch the shared server's data dir.
    own = new_backend(backend.name, tmp_path_factory.mktemp("catalog-data"))
    server = start_server(
        own,
        tmp_path_factory.mktemp("catalog"),
        AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE=catalog_upstream.url,
    )
    try:
        yield server
    finally:
        server.stop()


def test_each_entry_sends_the_vendors_credential_form(
    catalog_server: Server, catalog_upstream: RecordingUpstream
) -> None:
    client = create_client(catalog_server.backend, "dev")
    unique = secrets.token_hex(4)
    who = f"cat-user-{unique}"
    with catalog_server.api(client) as api:
        for case in CASES:
            name = f"cat-{case.provider}-{unique}"
            connection: dict[str, str] = {"provider_key": case.provider, "key_id": name}
            if case.kind:
                connection["type"] = case.kind
            made = api.post("/api/v1/connections", params={"flags.is_app": "true"}, json=connection)
            assert made.status_code == 201, (case.provider, made.text)
            account = api.post(
                "/api/v1/connected_accounts",
                json={
                    "connector": name,
                    "identifier": who,
                    "connected_account": {
                        "authorization_details": {"static_auth": {"details": case.details}}
                    },
                },
            )
            assert account.status_code == 201, (case.provider, account.text)
            catalog_upstream.clear()
            response = api.get(
                "/proxy/v1/ping", headers={"connection_name": name, "identifier": who}
            )
            assert response.status_code == 200, (case.provider, response.text)
            assert len(catalog_upstream.requests) == 1, case.provider
            seen = catalog_upstream.requests[0]
            assert seen.raw_path == f"/{case.provider}/v1/ping", case.provider
            assert seen.header(case.header) == case.value, case.provider
            if case.header != "Authorization":
                assert seen.header("Authorization") is None, case.provider
