"""ConnectedAccountService's REST twins beyond the seed's: GetConnectedAccount
(`GET /api/v1/connected_accounts/{id}`), DisconnectConnectedAccount by the body
(`-:disconnect`), the `this` forms (refused: no token is bound to an account), and
SearchConnectedAccounts in the message's shape."""

from __future__ import annotations

from tests.api.test_accounts import ACCOUNTS, DETAILS, connected
from tests.support.resources import (
    api_key_provider,
    create_account,
    error_of,
    static,
    violations,
)
from tests.support.servers import Server

# scalekit.v1.connected_accounts.ConnectedAccount / ConnectedAccountForList
ACCOUNT_FIELDS = {
    "identifier",
    "provider",
    "status",
    "authorization_type",
    "authorization_details",
    "token_expires_at",
    "updated_at",
    "connector",
    "last_used_at",
    "id",
    "connection_id",
    "api_config",
    "is_org_wide_credential",
}
LIST_FIELDS = ACCOUNT_FIELDS - {"authorization_details", "api_config"}


def test_get_by_id_answers_the_details(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    secret = f"get-{unique}-SECRET"
    conn = f"acct-get-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Get {unique}"), conn)
        made = create_account(api, conn, "gina", static(api_key=secret))
        response = api.get(f"{ACCOUNTS}/{made['id']}")
        assert response.status_code == 200, response.text
        assert secret not in response.text
        account = response.json()["connected_account"]
        assert ACCOUNT_FIELDS <= set(account)
        assert account == api.get(DETAILS, params={"id": made["id"]}).json()["connected_account"]
        error_of(api.get(f"{ACCOUNTS}/ca_nosuch"), 404, 5)
        assert "id" in violations(api.get(f"{ACCOUNTS}/this"))
        # the fixed sub-paths still answer as before
        assert api.get(f"{ACCOUNTS}/details", params={"id": made["id"]}).status_code == 200


def test_disconnect_by_body_and_this(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    conn = f"acct-dash-{unique}"
    with server.api(dev_client) as api:
        connected(api, api_key_provider(f"Acct Dash {unique}"), conn)
        one = create_account(api, conn, "olga", static(api_key="k1"))
        two = create_account(api, conn, "tom", static(api_key="k2"))
        by_name = api.post(
            f"{ACCOUNTS}/-:disconnect", json={"connector": conn, "identifier": "olga"}
        )
        assert by_name.status_code == 200, by_name.text
        assert by_name.json()["connected_account"]["id"] == one["id"]
        assert by_name.json()["connected_account"]["status"] == "DISCONNECTED"
        by_id = api.post(f"{ACCOUNTS}/-:disconnect", json={"id": two["id"]})
        assert by_id.json()["connected_account"]["status"] == "DISCONNECTED"

        three = create_account(api, conn, "ursula", static(api_key="k3"))
        bad = violations(api.post(f"{ACCOUNTS}/-:disconnect", json={"idx": 1, "connector": 2}))
        assert set(bad) == {"idx", "connector"}
        assert "identifier" in violations(api.post(f"{ACCOUNTS}/-:disconnect", json={}))
        error_of(api.post(f"{ACCOUNTS}/-:disconnect", content=b"[1"), 400, 3)
        error_of(
            api.post(f"{ACCOUNTS}/-:disconnect", json={"connector": conn, "identifier": "nobody"}),
            404,
            5,
        )
        assert "id" in violations(api.post(f"{ACCOUNTS}/this:disconnect", json={}))
        # nothing above touched the third account
        still = api.get(f"{ACCOUNTS}/{three['id']}").json()["connected_account"]
        assert still["status"] == "ACTIVE"


def test_search_answers_the_message_shape(
    server: Server, dev_client: dict[str, str], unique: str
) -> None:
    conn = f"acct-srch-{unique}"
    with server.api(dev_client) as api:
        made = connected(api, api_key_provider(f"Acct Srch {unique}"), conn)
        create_account(api, conn, f"findme-{unique}", static(api_key="k"))
        body = api.get(
            f"{ACCOUNTS}:search",
            params={"query": f"findme-{unique}", "connection_id": made["id"], "page_size": 5},
        ).json()
        assert {"connected_accounts", "total_size", "next_page_token", "prev_page_token"} <= set(
            body
        )
        assert body["total_size"] == 1
        assert LIST_FIELDS <= set(body["connected_accounts"][0])
