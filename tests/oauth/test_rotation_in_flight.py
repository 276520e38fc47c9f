"""`keys rotate` re-encrypts every stored secret, including an authorization in progress
(`auth_flows.secret_ct`: the PKCE verifier): after rotation the old key can go, and an
authorization a user started before completes on a server that knows only the new key.
Every column of the database that holds a vault ciphertext is in the rotation's registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from authrelay.store.encrypted import ENCRYPTED_COLUMNS
from authrelay.store.models import Base
from tests.conftest import new_backend
from tests.support.oauth_server import complete_login, start_oauth_server
from tests.support.rawdb import rows
from tests.support.servers import Backend, Server, create_client, run_cli, start_server

SECRET = "rotation-client-secret-0123456789"
CIPHERTEXT = re.compile(r"^v1\.([A-Za-z0-9]+)\.")


def _connect_and_link(server: Server, client: dict[str, str], authorize: str, token: str) -> str:
    """A PKCE OAuth connection `rot` and a magic link for `alice`; the link."""
    oauth = {
        "authorize_uri": authorize,
        "token_uri": token,
        "available_scopes": [{"scope": "openid", "required": True}],
        "pkce_enabled": True,
    }
    provider = {
        "display_name": "Rotation AS",
        "auth_patterns": [{"type": "OAUTH", "fields": [], "oauth_config": oauth}],
        "proxy_url": authorize.rsplit("/", 1)[0],
        "proxy_enabled": True,
    }
    with server.api(client) as api:
        made = api.post("/api/v1/custom-providers", json=provider)
        assert made.status_code == 201, made.text
        body = {
            "provider_key": "rotationas",
            "key_id": "rot",
            "oauth_config": {"client_id": "ar-rot", "client_secret": SECRET, "scopes": []},
        }
        created = api.post("/api/v1/connections", json=body)
        assert created.status_code == 201, created.text
        link = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": "rot", "identifier": "alice"},
        )
        assert link.status_code == 200, link.text
        return str(link.json()["link"])


def _ciphertext_columns(backend: Backend) -> dict[tuple[str, str], set[str]]:
    """(table, column) → the key ids of the vault ciphertexts it holds, over every table."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    found: dict[tuple[str, str], set[str]] = {}
    for table, records in rows(backend, tables).items():
        for record in records:
            for column, value in record.items():
                match = CIPHERTEXT.match(value) if isinstance(value, str) else None
                if match:
                    found.setdefault((table, column), set()).add(match.group(1))
    return found


def test_authorization_started_before_rotation_completes_without_the_old_key(
    backend: Backend, tmp_path: Path
) -> None:
    own = new_backend(backend.name, tmp_path / "data")
    first = start_server(own, tmp_path)
    as_server = start_oauth_server(
        tmp_path / "as",
        [
            {
                "client_id": "ar-rot",
                "client_secret": SECRET,
                "redirect_uris": [f"{first.url}/oauth/callback"],
                "token_endpoint_auth_method": "client_secret_post",
            }
        ],
    )
    try:
        client = create_client(own)
        link = _connect_and_link(first, client, as_server.authorize_url, as_server.token_url)
        with httpx.Client() as browser:
            opened = browser.get(link)  # the flow stores its PKCE verifier, encrypted
        assert opened.status_code == 303, opened.text
        callback = complete_login(opened.headers["location"], "alice").headers["location"]
        assert callback.startswith(f"{first.url}/oauth/callback?")
        old_kid = (own.data_dir / "master.keys").read_text().split(":", 1)[0]
        assert old_kid in _ciphertext_columns(own)[("auth_flows", "secret_ct")]

        report = json.loads(run_cli(own, "keys", "rotate", "--json").stdout)
        new_kid = report["primary_key"]
        assert new_kid != old_kid and report["reencrypted"]["auth_flows"] == 1
        first.stop()

        # the old key goes: the server restarts knowing the new key only
        keys = (own.data_dir / "master.keys").read_text().splitlines()
        assert keys[0].startswith(f"{new_kid}:") and keys[1].startswith(f"{old_kid}:")
        (own.data_dir / "master.keys").write_text(keys[0] + "\n")
        second = start_server(own, tmp_path, AUTHRELAY_PUBLIC_URL=first.url)
        try:
            with httpx.Client() as browser:
                page = browser.get(callback.replace(first.url, second.url, 1))
            assert page.status_code == 200 and "is connected" in page.text, page.text
            with second.api(client) as api:
                account = api.get(
                    "/api/v1/connected_accounts/details",
                    params={"connector": "rot", "identifier": "alice"},
                ).json()["connected_account"]
            assert account["status"] == "ACTIVE"
        finally:
            second.stop()
        stored = _ciphertext_columns(own)
        registered = {(c.table, c.ciphertext.key) for c in ENCRYPTED_COLUMNS}
        assert set(stored) <= registered, set(stored) - registered
        assert all(kids == {new_kid} for kids in stored.values()), stored
    finally:
        first.stop()
        as_server.stop()


def test_every_ciphertext_column_is_registered_for_rotation() -> None:
    """Every `*_ct` column (where the vault's ciphertexts live, by convention) is in the
    registry, and the registry names only such columns, each table once."""
    ct_columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_ct")
    }
    registered = [(c.table, c.ciphertext.key) for c in ENCRYPTED_COLUMNS]
    assert set(registered) == ct_columns and len(registered) == len(set(registered))
    assert ("auth_flows", "secret_ct") in ct_columns
    for column in ENCRYPTED_COLUMNS:
        assert column.key.class_ is column.model and column.ciphertext.class_ is column.model
        key = column.model.__table__.c[column.key.key]
        assert key.primary_key or key.unique, column  # names one row
