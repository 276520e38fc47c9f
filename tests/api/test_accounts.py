"""Connected accounts (SPEC §6) over HTTP: static and OAuth credentials, validation against
the provider's pattern, statuses, listing and search, update, delete, disconnect, secrets
that only `/auth` reveals, and environment isolation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.resources import (
    api_key_provider,
    audit_text,
    basic_provider,
    bearer_provider,
    create_account,
    create_connection,
    create_provider,
    error_of,
    oauth_provider,
    static,
    violations,
)
from tests.support.servers import Server, create_client, create_environment

ACCOUNTS = "/api/v1/connected_accounts"
DETAILS = "/api/v1/connected_accounts/details"
AUTH = "/api/v1/connected_accounts/auth"
STATIC_AT = "connected_account.authorization_details.static_auth.details"
PATHS_AT = "connected_account.api_config.path_variables"
ACCOUNT_KEYS = {
    "id", "identifier", "provider", "connector", "connection_id", "status",
    "authorization_type", "token_expires_at", "updated_at", "last_used_at",
    "is_org_wide_credential",
}  # fmt: skip


def connected(api: httpx.Client, definition: dict[str, Any], name: str) -> dict[str, Any]:
    """A custom provider and a connection of it named `name`."""
    identifier = create_provider(api, definition)
    return create_connection(api, {"provider_key": identifier, "key_id": name})


def test_api_key_account_lifecycle(server: Server, dev_client: dict[str, str], unique: str) -> None:
    secret = f"sk-live-{unique}-KEY"
    conn_name = f"acct-key-{unique}"
    with server.api(dev_client) as api:
        conn = connected(api, api_key_provider(f"Acct Key {unique}"), conn_name)
        made = create_account(
            api, conn_name, "alice@example.com", static(api_key=secret),
            organization_id="org_1", user_id="user_1",
        )  # fmt: skip
        assert set(made) == ACCOUNT_KEYS | {
            "authorization_details", "api_config", "organization_id", "user_id",
        }  # fmt: skip
        assert made["id"].startswith("ca_")
        assert made["identifier"] == "alice@example.com"
        assert made["connector"] == conn_name and made["connection_id"] == conn["id"]
        assert made["provider"] == conn["provider_key"]
        assert made["status"] == "ACTIVE" and made["authorization_type"] == "API_KEY"
        assert made["organization_id"] == "org_1" and made["user_id"] == "user_1"
        assert made["authorization_details"] == {"static_auth": {"details": {}}}
        assert made["api_config"] == {}
        assert made["token_expires_at"] is None and made["updated_at"].endswith("Z")
        assert made["is_org_wide_credential"] is False

        details = api.get(
            DETAILS, params={"connector": conn_name, "identifier": "alice@example.com"}
        )
        assert details.status_code == 200, details.text
        assert details.json() == {"connected_account": made}
        assert secret not in details.text

        for params in (
            {"connector": conn_name, "identifier": "alice@example.com"},
            {"id": made["id"]},
            {"connector": conn["id"], "identifier": "alice@example.com"},
        ):
            auth = api.get(AUTH, params=params)
            assert auth.status_code == 200, auth.text
            account = auth.json()["connected_account"]
            assert account["id"] == made["id"]
            assert account["authorization_details"] == {
                "static_auth": {"details": {"api_key": secret}}
            }

        listed = api.get(ACCOUNTS, params={"connector": conn_name})
        assert listed.status_code == 200
        body = listed.json()
        assert set(body) == {"connected_accounts", "next_page_token", "prev_page_token",
                             "total_size"}  # fmt: skip
        assert body["total_size"] == 1 and body["next_page_token"] == ""
        item = body["connected_accounts"][0]
        assert "authorization_details" not in item and "api_config" not in item
        assert item["id"] == made["id"] and item["status"] == "ACTIVE"
        assert secret not in listed.text

        # the identifier is per connection: the same user on another connection is fine
        other = f"acct-key2-{unique}"
        create_connection(api, {"provider_key": conn["provider_key"], "key_id": other})
        assert (
            create_account(api, other, "alice@example.com", static(api_key="x"))["id"]
            != (made["id"])
        )


def test_basic_account_with_domain_on_builtin_freshdesk(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    key = f"fd-api-key-{unique}"
    conn_name = f"acct-fd-{unique}"
    with server.api(dev_client) as api:
        create_connection(api, {"provider_key": "freshdesk", "key_id": conn_name})
        made = create_account(api, conn_name, "bob", static(domain="acme", username=key))
        assert made["authorization_type"] == "BASIC" and made["status"] == "ACTIVE"
        assert made["provider"] == "freshdesk"
        # the domain is not secret and is shown; the API key (username) is not
        assert made["authorization_details"] == {"static_auth": {"details": {"domain": "acme"}}}
        details = api.get(DETAILS, params={"id": made["id"]})
        assert details.json()["connected_account"]["authorization_details"] == {
            "static_auth": {"details": {"domain": "acme"}}
        }
        auth = api.get(AUTH, params={"connector": conn_name, "identifier": "bob"}).json()
        assert auth["connected_account"]["authorization_details"]["static_auth"]["details"] == {
            "domain": "acme",
            "username": key,
        }
        missing = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "carol",
                  "connected_account": {"authorization_details": static(username="k")}},
        )  # fmt: skip
        assert violations(missing) == {f"{STATIC_AT}.domain": "is required"}


def test_bearer_account_with_select_and_path_parameter(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    token = f"bearer-{unique}-TOKEN"
    conn_name = f"acct-bearer-{unique}"
    with server.api(dev_client) as api:
        connected(api, bearer_provider(f"Acct Bearer {unique}"), conn_name)
        made = create_account(
            api, conn_name, "dave",
            static(token=token, region="eu", path_variables={"tenant": "acme-1"}),
        )  # fmt: skip
        assert made["authorization_type"] == "BEARER_TOKEN"
        assert made["authorization_details"]["static_auth"]["details"] == {
            "region": "eu",
            "path_variables": {"tenant": "acme-1"},
        }
        auth = api.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"] == {
            "token": token,
            "region": "eu",
            "path_variables": {"tenant": "acme-1"},
        }
        # the path parameter may also be given as a plain field
        flat = create_account(api, conn_name, "erin", static(token="t", region="us", tenant="t1"))
        assert flat["authorization_details"]["static_auth"]["details"] == {
            "region": "us",
            "tenant": "t1",
        }
        # given in both places, both values are checked (the proxy uses path_variables)
        sneaky = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "fred",
                  "connected_account": {"authorization_details": static(
                      token="t", region="us", tenant="fine",
                      path_variables={"tenant": "../admin"})}},
        )  # fmt: skip
        assert set(violations(sneaky)) == {f"{STATIC_AT}.path_variables.tenant"}


def test_static_validation_reports_every_problem(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    conn_name = f"acct-val-{unique}"
    with server.api(dev_client) as api:
        connected(api, bearer_provider(f"Acct Val {unique}"), conn_name)

        def attempt(details: dict[str, Any]) -> dict[str, str]:
            response = api.post(
                ACCOUNTS,
                json={"connector": conn_name, "identifier": "frank",
                      "connected_account": {"authorization_details": static(**details)}},
            )  # fmt: skip
            return violations(response)

        found = attempt(
            {
                "region": "mars",
                "note": 42,
                "colour": "red",
                "path_variables": {"region": "us", "tenant": "ok"},
            }
        )
        assert set(found) == {
            f"{STATIC_AT}.token",
            f"{STATIC_AT}.region",
            f"{STATIC_AT}.note",
            f"{STATIC_AT}.colour",
            f"{STATIC_AT}.path_variables.region",
        }
        assert found[f"{STATIC_AT}.token"] == "is required"
        assert "us" in found[f"{STATIC_AT}.region"] and "eu" in found[f"{STATIC_AT}.region"]
        assert found[f"{STATIC_AT}.note"] == "must be a string"
        assert "unknown field" in found[f"{STATIC_AT}.colour"]
        assert "path parameter" in found[f"{STATIC_AT}.path_variables.region"]

        assert set(attempt({})) == {
            f"{STATIC_AT}.token",
            f"{STATIC_AT}.region",
            f"{STATIC_AT}.tenant",
        }
        assert set(attempt({"token": "", "region": "us", "tenant": "x"})) == {f"{STATIC_AT}.token"}
        assert set(attempt({"token": ["t"], "region": "us", "tenant": "x"})) == {
            f"{STATIC_AT}.token"
        }
        assert set(attempt({"token": "a\r\nX-Evil: 1", "region": "us", "tenant": "x"})) == {
            f"{STATIC_AT}.token"
        }
        assert set(attempt({"token": "t", "region": "us", "path_variables": "tenant"})) == {
            f"{STATIC_AT}.path_variables",
            f"{STATIC_AT}.tenant",
        }
        assert set(attempt({"token": "t", "region": "us", "path_variables": {"tenant": 5}})) == {
            f"{STATIC_AT}.path_variables.tenant"
        }
        # nothing was stored
        assert api.get(ACCOUNTS, params={"connector": conn_name}).json()["total_size"] == 0


@pytest.mark.parametrize(
    "value",
    [
        "evil.com/x",
        "a@b",
        "host:8080",
        "..",
        "a b",
        "https://x",
        "a?b",
        "a#b",
        "",
        "::1",
        "[::1]",
        "a\\b",
        "-a",
        "a..b",
    ],
)
def test_domain_values_that_would_break_the_url(
    server: Server, dev_client: dict[str, str], unique: str, value: str
) -> None:
    conn_name = f"acct-dom-{unique}"
    with server.api(dev_client) as api:
        connected(api, basic_provider(f"Acct Dom {unique}"), conn_name)
        for details in ({"domain": value}, {"path_variables": {"domain": value}}):
            response = api.post(
                ACCOUNTS,
                json={"connector": conn_name, "identifier": "gina",
                      "connected_account": {"authorization_details": static(
                          username="u", **details)}},
            )  # fmt: skip
            found = violations(response)
            where = f"{STATIC_AT}.domain" if "domain" in details else (
                f"{STATIC_AT}.path_variables.domain"
            )  # fmt: skip
            assert where in found, (value, found)
        good = create_account(api, conn_name, "gina", static(username="u", domain="my-co.eu"))
        assert good["authorization_details"]["static_auth"]["details"]["domain"] == "my-co.eu"


@pytest.mark.parametrize("value", ["a/b", "a?b", "a#b", "..", "a%2fb", "a b", "x\ty", "é"])
def test_path_parameter_values_that_would_break_the_url(
    server: Server, dev_client: dict[str, str], unique: str, value: str
) -> None:
    conn_name = f"acct-path-{unique}"
    with server.api(dev_client) as api:
        connected(api, bearer_provider(f"Acct Path {unique}"), conn_name)
        response = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "hank",
                  "connected_account": {"authorization_details": static(
                      token="t", region="us", path_variables={"tenant": value})}},
        )  # fmt: skip
        assert f"{STATIC_AT}.path_variables.tenant" in violations(response)


def test_oauth_accounts(server: Server, dev_client: dict[str, str], unique: str) -> None:
    access, refresh = f"access-{unique}-AT", f"refresh-{unique}-RT"
    conn_name = f"acct-oauth-{unique}"
    with server.api(dev_client) as api:
        connected(api, oauth_provider(f"Acct OAuth {unique}"), conn_name)

        pending = create_account(api, conn_name, "ivy")
        assert pending["status"] == "PENDING_AUTH" and pending["authorization_type"] == "OAUTH"
        assert pending["authorization_details"] == {"oauth_token": {"scopes": [], "domain": ""}}
        auth = api.get(AUTH, params={"id": pending["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["oauth_token"]["access_token"] == ""

        imported = create_account(
            api, conn_name, "jack",
            {"oauth_token": {"access_token": access, "refresh_token": refresh,
                             "scopes": ["read", "write"], "domain": "jack.example.com"}},
        )  # fmt: skip
        assert imported["status"] == "ACTIVE" and imported["authorization_type"] == "OAUTH"
        assert imported["authorization_details"] == {
            "oauth_token": {"scopes": ["read", "write"], "domain": "jack.example.com"}
        }
        details = api.get(DETAILS, params={"connector": conn_name, "identifier": "jack"})
        assert access not in details.text and refresh not in details.text
        assert (
            details.json()["connected_account"]["authorization_details"]
            == (imported["authorization_details"])
        )
        revealed = api.get(AUTH, params={"connector": conn_name, "identifier": "jack"}).json()
        assert revealed["connected_account"]["authorization_details"] == {
            "oauth_token": {
                "access_token": access,
                "refresh_token": refresh,
                "scopes": ["read", "write"],
                "domain": "jack.example.com",
            }
        }

        # the pending account becomes ACTIVE once tokens arrive
        updated = api.put(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "ivy",
                  "connected_account": {"authorization_details": {
                      "oauth_token": {"access_token": "new-access"}}}},
        )  # fmt: skip
        assert updated.status_code == 200, updated.text
        assert updated.json()["connected_account"]["status"] == "ACTIVE"
        assert "new-access" not in updated.text

        # a new access token alone keeps the refresh token, scopes and domain
        renewed = api.put(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "jack",
                  "connected_account": {"authorization_details": {
                      "oauth_token": {"access_token": "renewed"}}}},
        )  # fmt: skip
        assert (
            renewed.json()["connected_account"]["authorization_details"]
            == (imported["authorization_details"])
        )
        token = api.get(AUTH, params={"id": imported["id"]}).json()["connected_account"][
            "authorization_details"
        ]["oauth_token"]
        assert token["access_token"] == "renewed" and token["refresh_token"] == refresh

        # wrong kind of credentials for the connection
        wrong = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "kate",
                  "connected_account": {"authorization_details": static(api_key="k")}},
        )  # fmt: skip
        assert set(violations(wrong)) == {"connected_account.authorization_details.static_auth"}
        both = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "kate",
                  "connected_account": {"authorization_details": {
                      **static(api_key="k"), "oauth_token": {"access_token": "a"}}}},
        )  # fmt: skip
        assert "connected_account.authorization_details" in violations(both)
        no_token = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "kate",
                  "connected_account": {"authorization_details": {
                      "oauth_token": {"refresh_token": "r"}}}},
        )  # fmt: skip
        assert set(violations(no_token)) == {
            "connected_account.authorization_details.oauth_token.access_token"
        }


def test_oauth_account_path_variables(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    conn_name = f"acct-ws-{unique}"
    token = {"oauth_token": {"access_token": "at"}}
    with server.api(dev_client) as api:
        connected(api, oauth_provider(f"Acct Ws {unique}", workspace=True), conn_name)
        missing = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "liam",
                  "connected_account": {"authorization_details": token}},
        )  # fmt: skip
        assert set(violations(missing)) == {f"{PATHS_AT}.workspace"}
        for bad in ("a/b", "..", "a?b", "a#b"):
            response = api.post(
                ACCOUNTS,
                json={"connector": conn_name, "identifier": "liam",
                      "connected_account": {"authorization_details": token,
                                            "api_config": {"path_variables": {"workspace": bad}}}},
            )  # fmt: skip
            assert set(violations(response)) == {f"{PATHS_AT}.workspace"}, bad
        not_strings = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "liam",
                  "connected_account": {"authorization_details": token,
                                        "api_config": {"path_variables": {"workspace": 3}}}},
        )  # fmt: skip
        assert PATHS_AT in " ".join(violations(not_strings))
        made = create_account(
            api, conn_name, "liam", token,
            connected_account={"authorization_details": token,
                               "api_config": {"path_variables": {"workspace": "team-7"}}},
        )  # fmt: skip
        assert made["api_config"] == {"path_variables": {"workspace": "team-7"}}
        details = api.get(DETAILS, params={"id": made["id"]}).json()["connected_account"]
        assert details["api_config"] == {"path_variables": {"workspace": "team-7"}}
        # a pending account's path variables are checked as well
        pending_bad = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "mia",
                  "connected_account": {"api_config": {"path_variables": {"workspace": "../x"}}}},
        )  # fmt: skip
        assert set(violations(pending_bad)) == {f"{PATHS_AT}.workspace"}


def test_concurrent_creates_of_one_account_have_one_winner(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    """Sixteen creates of the same account at once (several server tasks, no read before
    the insert): one 201, and every other answer a 409 naming the winner."""
    conn_name = f"acct-race-{unique}"
    body = {
        "connector": conn_name,
        "identifier": "rita",
        "connected_account": {"authorization_details": static(api_key="k")},
    }
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Race {unique}"), conn_name)
        token = api.headers["Authorization"]

    def create(_: int) -> httpx.Response:
        headers = {"Authorization": token}
        return httpx.post(f"{server.url}{ACCOUNTS}", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(create, range(16)))
        won = [a for a in answers if a.status_code == 201]
        assert len(won) == 1, [a.status_code for a in answers]
        winner = won[0].json()["connected_account"]["id"]
        for answer in answers:
            if answer is not won[0]:
                assert winner in error_of(answer, 409, 6)["message"]
        # Again after changes of configuration (the server drops the connections it keeps
        # for account creation), so that the requests that load it again all fail.
        for round_ in range(4):
            with server.api(dev_client) as api:
                create_provider(api, api_key_provider(f"Acct Race {round_} {unique}"))
            for answer in pool.map(create, range(16)):
                assert winner in error_of(answer, 409, 6)["message"]


def test_conflicts_unknown_connectors_and_wrong_credentials(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    conn_name = f"acct-dup-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Dup {unique}"), conn_name)
        first = create_account(api, conn_name, "nina", static(api_key="one"))
        dup = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "nina",
                  "connected_account": {"authorization_details": static(api_key="two")}},
        )  # fmt: skip
        body = error_of(dup, 409, 6)
        assert "nina" in body["message"] and first["id"] in body["message"]
        assert "two" not in body["message"]
        # the first account is untouched
        auth = api.get(AUTH, params={"id": first["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"] == {"api_key": "one"}

        unknown = api.post(
            ACCOUNTS,
            json={"connector": f"nosuch-{unique}", "identifier": "nina",
                  "connected_account": {"authorization_details": static(api_key="k")}},
        )  # fmt: skip
        assert f"nosuch-{unique}" in error_of(unknown, 404, 5)["message"]
        # the provider identifier is not a connector
        connector_is_not_provider = api.post(
            ACCOUNTS, json={"connector": "freshdesk-does-not-exist", "identifier": "x"}
        )
        error_of(connector_is_not_provider, 404, 5)

        oauth_on_static = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "olga",
                  "connected_account": {"authorization_details": {
                      "oauth_token": {"access_token": "a"}}}},
        )  # fmt: skip
        assert set(violations(oauth_on_static)) == {
            "connected_account.authorization_details.oauth_token"
        }
        nothing = api.post(ACCOUNTS, json={"connector": conn_name, "identifier": "olga"})
        assert set(violations(nothing)) == {STATIC_AT}
        for lookup in (DETAILS, AUTH):
            error_of(api.get(lookup, params={"connector": conn_name, "identifier": "olga"}), 404, 5)
            error_of(api.get(lookup, params={"id": "ca_nosuch"}), 404, 5)
            assert set(violations(api.get(lookup))) == {"identifier"}
            assert set(violations(api.get(lookup, params={"connector": conn_name}))) == {
                "identifier"
            }


@pytest.mark.parametrize(
    ("identifier", "field"),
    [
        ("a\r\nb", "identifier"),
        ("line\n", "identifier"),
        (" leading", "identifier"),
        ("trailing ", "identifier"),
        ("", "identifier"),
        ("x" * 256, "identifier"),
        (7, "identifier"),
        (None, "identifier"),
    ],
)
def test_identifier_rules(
    server: Server, dev_client: dict[str, str], unique: str, identifier: Any, field: str
) -> None:
    conn_name = f"acct-id-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Id {unique}"), conn_name)
        response = api.post(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": identifier,
                  "connected_account": {"authorization_details": static(api_key="k")}},
        )  # fmt: skip
        assert set(violations(response)) == {field}
        assert api.get(ACCOUNTS, params={"connector": conn_name}).json()["total_size"] == 0


BAD_BODIES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("unknown top-level field", {"identifier": "u", "colour": 1}, {"colour"}),
    ("missing connector", {"identifier": "u"}, {"connector"}),
    ("connector not a string", {"connector": 5, "identifier": "u"}, {"connector"}),
    (
        "unknown account field",
        {"identifier": "u", "connected_account": {"authorization_type": "OAUTH2"}},
        {"connected_account.authorization_type"},
    ),
    (
        "unknown authorization kind",
        {"identifier": "u", "connected_account": {"authorization_details": {"magic": {}}}},
        {"connected_account.authorization_details.magic"},
    ),
    (
        "details not an object",
        {"identifier": "u",
         "connected_account": {"authorization_details": {"static_auth": {"details": []}}}},
        {STATIC_AT},
    ),
    (
        "api_config not an object",
        {"identifier": "u", "connected_account": {"api_config": "x"}},
        {"connected_account.api_config"},
    ),
    ("organization_id not a string", {"identifier": "u", "organization_id": 1},
     {"organization_id"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "fields"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_invalid_account_bodies(
    server: Server,
    dev_client: dict[str, str],
    unique: str,
    case: str,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    conn_name = f"acct-bad-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Bad {unique}"), conn_name)
        payload = {"connector": conn_name, **body} if "connector" not in case else body
        assert set(violations(api.post(ACCOUNTS, json=payload))) == fields, case


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", ACCOUNTS), ("PUT", ACCOUNTS), ("POST", "/api/v1/connected_accounts:delete")],
)
@pytest.mark.parametrize("raw", [b"[]", b"null", b"{", b"", b'{"id": "a", "id": "b"}'])
def test_malformed_account_bodies_are_400(
    server: Server, dev_client: dict[str, str], method: str, path: str, raw: bytes
) -> None:
    with server.api(dev_client) as api:
        response = api.request(method, path, content=raw)
        assert set(violations(response)) == {"body"}


def test_update_account(server: Server, dev_client: dict[str, str], unique: str) -> None:
    conn_name = f"acct-upd-{unique}"
    with server.api(dev_client) as api:
        connected(api, bearer_provider(f"Acct Upd {unique}"), conn_name)
        made = create_account(
            api, conn_name, "paul",
            static(token="old", region="us", path_variables={"tenant": "t1"}),
        )  # fmt: skip

        # by connector + identifier, replacing the credentials
        response = api.put(
            ACCOUNTS,
            json={"connector": conn_name, "identifier": "paul", "organization_id": "org_9",
                  "connected_account": {"authorization_details": static(
                      token="new", region="eu", path_variables={"tenant": "t2"})}},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"connected_account"}
        updated = response.json()["connected_account"]
        assert updated["id"] == made["id"] and updated["organization_id"] == "org_9"
        assert updated["authorization_details"]["static_auth"]["details"] == {
            "region": "eu",
            "path_variables": {"tenant": "t2"},
        }
        assert "new" not in str(updated["authorization_details"])
        auth = api.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"]["token"] == "new"

        # by id, changing only the user id: the credentials stay
        by_id = api.put(ACCOUNTS, json={"id": made["id"], "user_id": "user_5"})
        assert by_id.status_code == 200, by_id.text
        assert by_id.json()["connected_account"]["user_id"] == "user_5"
        assert by_id.json()["connected_account"]["status"] == "ACTIVE"
        auth = api.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"]["token"] == "new"

        # api_config merges: given keys change, others stay
        api.put(ACCOUNTS, json={"id": made["id"], "connected_account": {"api_config": {"a": 1}}})
        merged = api.put(
            ACCOUNTS, json={"id": made["id"], "connected_account": {"api_config": {"b": 2}}}
        ).json()["connected_account"]
        assert merged["api_config"] == {"a": 1, "b": 2}

        # invalid credentials are refused, and nothing changes
        bad = api.put(
            ACCOUNTS,
            json={"id": made["id"], "connected_account": {"authorization_details": static(
                token="x", region="mars", tenant="t")}},
        )  # fmt: skip
        assert set(violations(bad)) == {f"{STATIC_AT}.region"}
        auth = api.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"]["region"] == "eu"

        # an id that contradicts the connector/identifier given with it
        other = create_account(api, conn_name, "quinn", static(token="q", region="us", tenant="q"))
        clash = api.put(ACCOUNTS, json={"id": other["id"], "identifier": "paul",
                                        "connector": conn_name, "user_id": "stolen"})  # fmt: skip
        assert set(violations(clash)) == {"identifier"}
        assert (
            "user_id"
            not in api.get(DETAILS, params={"id": other["id"]}).json()["connected_account"]
        )
        # partial credentials: only the named fields change
        partial = api.put(
            ACCOUNTS,
            json={"id": made["id"],
                  "connected_account": {"authorization_details": static(token="newer")}},
        )  # fmt: skip
        assert partial.status_code == 200, partial.text
        auth = api.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert auth["authorization_details"]["static_auth"]["details"] == {
            "token": "newer",
            "region": "eu",
            "path_variables": {"tenant": "t2"},
        }
        moved = api.put(
            ACCOUNTS,
            json={"id": made["id"], "connected_account": {"authorization_details": static(
                path_variables={"tenant": "t3"})}},
        )  # fmt: skip
        assert moved.json()["connected_account"]["authorization_details"]["static_auth"][
            "details"
        ] == {"region": "eu", "path_variables": {"tenant": "t3"}}
        escape = api.put(
            ACCOUNTS,
            json={"id": made["id"], "connected_account": {"authorization_details": static(
                path_variables={"tenant": "../admin"})}},
        )  # fmt: skip
        assert set(violations(escape)) == {f"{STATIC_AT}.path_variables.tenant"}

        error_of(api.put(ACCOUNTS, json={"connector": conn_name, "identifier": "nobody"}), 404, 5)
        error_of(api.put(ACCOUNTS, json={"id": "ca_nosuch"}), 404, 5)
        assert set(violations(api.put(ACCOUNTS, json={"connector": conn_name}))) == {"identifier"}
        assert set(violations(api.put(ACCOUNTS, json={"id": made["id"], "extra": 1}))) == {"extra"}


def test_delete_account(server: Server, dev_client: dict[str, str], unique: str) -> None:
    conn_name = f"acct-del-{unique}"
    delete = "/api/v1/connected_accounts:delete"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Del {unique}"), conn_name)
        one = create_account(api, conn_name, "rita", static(api_key="r"))
        two = create_account(api, conn_name, "sam", static(api_key="s"))

        response = api.post(delete, json={"connector": conn_name, "identifier": "rita"})
        assert response.status_code == 200, response.text
        assert response.json() == {}
        error_of(api.get(DETAILS, params={"id": one["id"]}), 404, 5)
        error_of(api.post(delete, json={"connector": conn_name, "identifier": "rita"}), 404, 5)

        assert api.post(delete, json={"id": two["id"]}).json() == {}
        error_of(api.post(delete, json={"id": two["id"]}), 404, 5)
        assert api.get(ACCOUNTS, params={"connector": conn_name}).json()["total_size"] == 0

        assert set(violations(api.post(delete, json={}))) == {"identifier"}
        assert set(violations(api.post(delete, json={"identifier": "x"}))) == {"identifier"}
        assert set(violations(api.post(delete, json={"id": "x", "bogus": True}))) == {"bogus"}
        error_of(
            api.post(delete, json={"connector": f"nosuch-{unique}", "identifier": "x"}), 404, 5
        )

        # the identifier can be used again
        again = create_account(api, conn_name, "rita", static(api_key="r2"))
        assert again["id"] != one["id"]
        actions = [
            e["action"]
            for e in api.get(
                "/api/v1/audit-logs",
                params={"resource_type": "connected_account", "resource_id": one["id"]},
            ).json()["audit_logs"]
        ]
        assert actions == ["connected_account.delete", "connected_account.create"]


def test_disconnect_account(server: Server, dev_client: dict[str, str], unique: str) -> None:
    secret = f"disc-{unique}-SECRET"
    conn_name = f"acct-disc-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Disc {unique}"), conn_name)
        made = create_account(api, conn_name, "tina", static(api_key=secret))
        response = api.post(f"/api/v1/connected_accounts/{made['id']}:disconnect", json={})
        assert response.status_code == 200, response.text
        account = response.json()["connected_account"]
        assert account["status"] == "DISCONNECTED" and account["id"] == made["id"]
        auth = api.get(AUTH, params={"id": made["id"]})
        assert auth.status_code == 200 and secret not in auth.text
        assert auth.json()["connected_account"]["authorization_details"] == {
            "static_auth": {"details": {}}
        }
        listed = api.get(ACCOUNTS, params={"connector": conn_name}).json()
        assert listed["connected_accounts"][0]["status"] == "DISCONNECTED"
        # fresh credentials make it ACTIVE again
        revived = api.put(
            ACCOUNTS,
            json={"id": made["id"],
                  "connected_account": {"authorization_details": static(api_key="again")}},
        )  # fmt: skip
        assert revived.json()["connected_account"]["status"] == "ACTIVE"
        error_of(api.post("/api/v1/connected_accounts/ca_nosuch:disconnect", json={}), 404, 5)


def test_list_filters_and_pagination(server: Server, unique: str) -> None:
    env = f"accts-{unique}"
    create_environment(server.backend, env)
    with server.api(create_client(server.backend, env)) as api:
        key = create_provider(api, api_key_provider("Listed Accounts"))
        create_connection(api, {"provider_key": key, "key_id": "alpha"})
        create_connection(api, {"provider_key": key, "key_id": "beta"})
        create_connection(api, {"provider_key": "openai", "key_id": "gamma"})
        made = []
        for i, (conn, org, user) in enumerate(
            [
                ("alpha", "org_a", "u1"),
                ("alpha", "org_a", "u2"),
                ("alpha", "org_b", "u1"),
                ("beta", "org_b", "u3"),
                ("gamma", None, None),
            ]
        ):
            extra = {k: v for k, v in (("organization_id", org), ("user_id", user)) if v}
            made.append(
                create_account(
                    api, conn, f"person{i}@Example.com", static(api_key=f"k{i}"), **extra
                )
            )

        def ids(params: Any) -> list[str]:
            response = api.get(ACCOUNTS, params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["total_size"] == len(body["connected_accounts"])
            for item in body["connected_accounts"]:
                assert "authorization_details" not in item and "api_config" not in item
            return [a["identifier"] for a in body["connected_accounts"]]

        everyone = [m["identifier"] for m in made]
        assert ids({}) == everyone
        assert ids({"connector": "alpha"}) == everyone[:3]
        assert ids({"connection_names": ["alpha", "gamma"]}) == everyone[:3] + everyone[4:]
        assert ids([("connection_names", "beta"), ("connection_names", "gamma")]) == everyone[3:]
        assert ids({"connection_names": ["nosuch"]}) == []
        assert ids({"connector": "nosuch"}) == []
        assert ids({"organization_id": "org_b"}) == [everyone[2], everyone[3]]
        assert ids({"user_id": "u1"}) == [everyone[0], everyone[2]]
        assert ids({"organization_id": "org_a", "user_id": "u1"}) == [everyone[0]]
        assert ids({"identifier": "person3@Example.com"}) == [everyone[3]]
        assert ids({"provider": "openai"}) == [everyone[4]]
        assert ids({"provider": key}) == everyone[:4]
        assert ids({"query": "PERSON1"}) == [everyone[1]]
        assert ids({"query": "gamma"}) == [everyone[4]]
        assert ids({"query": "%"}) == [] and ids({"query": "_"}) == []
        assert ids({"connector": "alpha", "user_id": "u2"}) == [everyone[1]]
        combined = api.get(ACCOUNTS, params={"connector": "alpha", "connection_names": ["beta"]})
        assert set(violations(combined)) == {"connection_names"}
        too_many = api.get(ACCOUNTS, params={"connection_names": [f"c{i}" for i in range(21)]})
        assert set(violations(too_many)) == {"connection_names"}
        assert ids({"connection_names": [f"c{i}" for i in range(19)] + ["beta"]}) == [everyone[3]]

        seen: list[str] = []
        params: dict[str, Any] = {"page_size": 2}
        pages = 0
        while True:
            body = api.get(ACCOUNTS, params=params).json()
            assert body["total_size"] == 5 and len(body["connected_accounts"]) <= 2
            assert body["prev_page_token"] == "" or isinstance(body["prev_page_token"], str)
            seen += [a["identifier"] for a in body["connected_accounts"]]
            pages += 1
            if not body["next_page_token"]:
                break
            params["page_token"] = body["next_page_token"]
        assert pages == 3 and seen == everyone

        # search: by text, and within one connection (by id or name)
        search = "/api/v1/connected_accounts:search"
        found = api.get(search, params={"query": "person"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert set(body) == {"connected_accounts", "next_page_token", "prev_page_token",
                             "total_size"}  # fmt: skip
        assert body["total_size"] == 5
        assert all("authorization_details" not in a for a in body["connected_accounts"])
        alpha_id = made[0]["connection_id"]
        within = api.get(search, params={"query": "person", "connection_id": alpha_id}).json()
        assert [a["identifier"] for a in within["connected_accounts"]] == everyone[:3]
        only = api.get(search, params={"query": "person2", "connection_id": alpha_id}).json()
        assert [a["identifier"] for a in only["connected_accounts"]] == [everyone[2]]
        none = api.get(search, params={"query": "person", "connection_id": "conn_nosuch"}).json()
        assert none["total_size"] == 0
        paged = api.get(search, params={"query": "person", "page_size": 4}).json()
        assert len(paged["connected_accounts"]) == 4 and paged["next_page_token"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"page_size": 101}, "page_size", id="page_size-over-100"),
        pytest.param({"page_size": "x"}, "page_size", id="page_size-not-a-number"),
        pytest.param({"page_size": -2}, "page_size", id="page_size-negative"),
        pytest.param({"page_token": "IngiIg"}, "page_token", id="page_token-not-an-object"),
    ],
)
def test_a_bad_list_parameter_is_refused(
    server: Server, dev_client: dict[str, str], params: dict[str, Any], field: str
) -> None:
    with server.api(dev_client) as api:
        assert set(violations(api.get(ACCOUNTS, params=params))) == {field}


def test_secrets_appear_only_in_auth(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    planted = {
        "api_key": f"PLANT-apikey-{unique}",
        "user": f"PLANT-user-{unique}",
        "password": f"PLANT-password-{unique}",
        "token": f"PLANT-bearer-{unique}",
        "access": f"PLANT-access-{unique}",
        "refresh": f"PLANT-refresh-{unique}",
        "updated": f"PLANT-updated-{unique}",
        "rejected": f"PLANT-rejected-{unique}",
        "duplicate": f"PLANT-duplicate-{unique}",
        "client": f"PLANT-client-secret-{unique}",
    }
    seen: list[str] = []  # every response text that must not hold a secret

    def keep(response: httpx.Response, status: int) -> httpx.Response:
        assert response.status_code == status, response.text
        seen.append(response.text)
        return response

    with server.api(dev_client) as api:
        key_conn, basic_conn = f"sec-key-{unique}", f"sec-basic-{unique}"
        bearer_conn, oauth_conn = f"sec-bearer-{unique}", f"sec-oauth-{unique}"
        connected(api, api_key_provider(f"Sec Key {unique}"), key_conn)
        connected(api, basic_provider(f"Sec Basic {unique}"), basic_conn)
        connected(api, bearer_provider(f"Sec Bearer {unique}"), bearer_conn)
        oauth_ident = create_provider(api, oauth_provider(f"Sec OAuth {unique}"))
        keep(api.post("/api/v1/connections", params={"flags.is_app": "true"},
                      json={"provider_key": oauth_ident, "key_id": oauth_conn,
                            "oauth_config": {"client_id": "c",
                                             "client_secret": planted["client"]}}), 201)  # fmt: skip

        def create(connector: str, authorization: dict[str, Any]) -> str:
            response = keep(
                api.post(ACCOUNTS, json={
                    "connector": connector, "identifier": "victim@example.com",
                    "connected_account": {"authorization_details": authorization}}),
                201,
            )  # fmt: skip
            return str(response.json()["connected_account"]["id"])

        basic = static(domain="acme", username=planted["user"], password=planted["password"])
        tokens = {"access_token": planted["access"], "refresh_token": planted["refresh"]}
        ids = [
            create(key_conn, static(api_key=planted["api_key"])),
            create(basic_conn, basic),
            create(bearer_conn, static(token=planted["token"], region="us", tenant="t")),
            create(oauth_conn, {"oauth_token": tokens}),
        ]
        keep(api.put(ACCOUNTS, json={
            "connector": key_conn, "identifier": "victim@example.com",
            "connected_account": {"authorization_details": static(api_key=planted["updated"])}}),
            200)  # fmt: skip
        # errors that carry a secret in the request
        keep(api.post(ACCOUNTS, json={
            "connector": key_conn, "identifier": "other",
            "connected_account": {"authorization_details": static(
                api_key=planted["rejected"], extra=planted["rejected"])}}), 400)  # fmt: skip
        keep(api.post(ACCOUNTS, json={
            "connector": key_conn, "identifier": "other",
            "connected_account": {"authorization_details": static(
                api_key=[planted["rejected"]])}}), 400)  # fmt: skip
        keep(api.post(ACCOUNTS, json={
            "connector": bearer_conn, "identifier": "other",
            "connected_account": {"authorization_details": static(
                token=planted["rejected"], region=planted["rejected"],
                tenant=planted["rejected"] + "/x")}}), 400)  # fmt: skip
        keep(api.post(ACCOUNTS, json={
            "connector": key_conn, "identifier": "victim@example.com",
            "connected_account": {"authorization_details": static(
                api_key=planted["duplicate"])}}), 409)  # fmt: skip
        keep(api.post(ACCOUNTS, json={
            "connector": oauth_conn, "identifier": "other",
            "connected_account": {"authorization_details": {"oauth_token": {
                "access_token": planted["rejected"] + "\n"}}}}), 400)  # fmt: skip
        keep(api.post(ACCOUNTS, json={
            "connector": oauth_conn, "identifier": "other",
            "connected_account": {"authorization_details": {"oauth_token": {
                "access_token": planted["rejected"], "scopes": "x"}}}}), 400)  # fmt: skip

        for account_id in ids:
            keep(api.get(DETAILS, params={"id": account_id}), 200)
        keep(api.get(DETAILS, params={"connector": key_conn, "identifier": "victim@example.com"}),
             200)  # fmt: skip
        keep(api.get(ACCOUNTS, params={"identifier": "victim@example.com"}), 200)
        keep(api.get(ACCOUNTS, params={"query": unique}), 200)
        keep(api.get(ACCOUNTS, params={"connection_names": [key_conn, oauth_conn]}), 200)
        keep(api.get("/api/v1/connected_accounts:search", params={"query": "victim"}), 200)
        keep(api.get("/api/v1/connections/app", params={"query": unique}), 200)
        keep(api.get(f"/api/v1/connections/{oauth_conn}"), 200)
        seen.append(audit_text(api))

        seen.append(server.log_text())
        everything = "\n".join(seen)
        for name, value in planted.items():
            assert value not in everything, name

        # /auth is the one place that shows them
        revealed = "\n".join(api.get(AUTH, params={"id": i}).text for i in ids)
        for name in ("updated", "user", "password", "token", "access", "refresh"):
            assert planted[name] in revealed, name
        assert planted["api_key"] not in revealed  # replaced by the update
        # and reading them is itself audited, without the values
        entries = api.get(
            "/api/v1/audit-logs", params={"resource_type": "connected_account",
                                          "resource_id": ids[0]}
        ).json()["audit_logs"]  # fmt: skip
        assert entries[0]["action"] == "connected_account.read_auth"
        log = audit_text(api)
        assert not any(value in log for value in planted.values())


def test_other_environments_cannot_see_or_change_accounts(
    server: Server, dev_client: dict[str, str], prod_client: dict[str, str], unique: str
) -> None:
    conn_name = f"acct-iso-{unique}"
    secret = f"iso-secret-{unique}"
    with server.api(dev_client) as dev, server.api(prod_client) as prod:
        connected(dev, api_key_provider(f"Acct Iso {unique}"), conn_name)
        made = create_account(dev, conn_name, "uma", static(api_key=secret))
        ref = {"connector": conn_name, "identifier": "uma"}

        for path in (DETAILS, AUTH):
            error_of(prod.get(path, params={"id": made["id"]}), 404, 5)
            error_of(prod.get(path, params=ref), 404, 5)
        for params in ({"connector": conn_name}, {"identifier": "uma"}, {"query": unique}, {}):
            listed = prod.get(ACCOUNTS, params=params)
            assert listed.status_code == 200
            assert made["id"] not in listed.text and secret not in listed.text
        searched = prod.get(
            "/api/v1/connected_accounts:search",
            params={"query": "uma", "connection_id": made["connection_id"]},
        )
        assert searched.json()["total_size"] == 0
        error_of(prod.put(ACCOUNTS, json={"id": made["id"], "user_id": "x"}), 404, 5)
        error_of(prod.put(ACCOUNTS, json={**ref, "user_id": "x"}), 404, 5)
        error_of(prod.post("/api/v1/connected_accounts:delete", json={"id": made["id"]}), 404, 5)
        error_of(prod.post("/api/v1/connected_accounts:delete", json=ref), 404, 5)
        error_of(prod.post(f"/api/v1/connected_accounts/{made['id']}:disconnect", json={}), 404, 5)
        error_of(
            prod.post(ACCOUNTS, json={**ref, "connected_account": {
                "authorization_details": static(api_key="p")}}),
            404, 5,
        )  # fmt: skip
        assert secret not in audit_text(prod)

        # nothing changed in dev
        still = dev.get(AUTH, params={"id": made["id"]}).json()["connected_account"]
        assert still["status"] == "ACTIVE" and "user_id" not in still
        assert still["authorization_details"]["static_auth"]["details"] == {"api_key": secret}
