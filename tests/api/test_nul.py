"""NUL characters (which PostgreSQL cannot store or compare) get a 400 naming the field on
both backends, in bodies, query and path parameters and the token form (found by fuzzing:
they were 500s on PostgreSQL)."""

from __future__ import annotations

import httpx

from tests.support.resources import violations
from tests.support.servers import Server

NUL = "must not contain NUL characters (U+0000)"


def test_nul_characters_are_refused_naming_the_field(
    server: Server, dev_client: dict[str, str]
) -> None:
    with server.api(dev_client) as api:
        created = api.post(
            "/api/v1/connected_accounts",
            json={"connector": "a\x00b", "identifier": "u", "connected_account": {"x\x00": [""]}},
        )
        assert violations(created) == {"connector": NUL, "connected_account.x\x00": NUL}
        nested = api.post(
            "/api/v1/connections", json={"oauth_config": {"scopes": ["ok", "b\x00d"]}}
        )
        assert violations(nested) == {"oauth_config.scopes[1]": NUL}
        listed = api.get("/api/v1/connected_accounts", params={"connection_names": ["ok", "a\x00"]})
        assert violations(listed) == {"connection_names": NUL}
        path = api.get("/api/v1/connections/conn%00x")
        assert violations(path) == {"connection_id": NUL}
        lookup = api.get(
            "/api/v1/connected_accounts/details", params={"connector": "c", "identifier": "\x00"}
        )
        assert violations(lookup) == {"identifier": NUL}
    token = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "s"},
    )
    assert token.status_code == 400
    assert token.json() == {"error": "invalid_request", "error_description": f"client_id: {NUL}"}
