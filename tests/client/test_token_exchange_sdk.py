"""TOKEN_EXCHANGE through the SDK: the definition model validates the block on the client,
and create -> connection -> account -> request works, copied between environments too."""

from __future__ import annotations

from collections.abc import Iterator

import pydantic
import pytest

import authrelay_client
from tests.support.exchange_upstream import ExchangeUpstream, definition
from tests.support.servers import Server


@pytest.fixture
def exchange_upstream() -> Iterator[ExchangeUpstream]:
    server = ExchangeUpstream().start()
    yield server
    server.stop()


def test_definition_model_checks_the_block() -> None:
    good = {
        "display_name": "Sdk Model",
        "proxy_url": "https://api.example.com",
        "auth_patterns": [
            {
                "type": "TOKEN_EXCHANGE",
                "fields": [{"field_name": "api_key"}],
                "token_exchange": {
                    "url": "https://api.example.com/token",
                    "body": {"key": "{{api_key}}"},
                    "token_path": "data.token",
                },
            }
        ],
    }
    model = authrelay_client.ProviderDefinition.model_validate(good)
    exchange = model.auth_patterns[0].token_exchange
    assert exchange is not None
    assert (exchange.header_name, exchange.header_template) == ("Authorization", "Bearer {{token}}")
    bad = {**good}
    bad["auth_patterns"] = [
        {**good["auth_patterns"][0], "token_exchange": {"url": "https://a.example.com/t\r\n"}}
    ]
    with pytest.raises(pydantic.ValidationError) as info:
        authrelay_client.ProviderDefinition.model_validate(bad)
    where = {tuple(e["loc"]) for e in info.value.errors()}
    assert ("auth_patterns", 0, "token_exchange", "url") in where
    assert ("auth_patterns", 0, "token_exchange", "token_path") in where


def test_sdk_end_to_end_and_copy(
    server: Server,
    dev_client: dict[str, str],
    prod_client: dict[str, str],
    exchange_upstream: ExchangeUpstream,
    unique: str,
) -> None:
    up = exchange_upstream
    up.credentials["sdk-app"] = "sdk-secret"
    conn = f"sdk-tx-{unique}"
    with (
        authrelay_client.Client(
            server.url, dev_client["client_id"], dev_client["client_secret"]
        ) as dev,
        authrelay_client.Client(
            server.url, prod_client["client_id"], prod_client["client_secret"]
        ) as prod,
    ):
        provider = dev.providers.create(definition(f"Sdk Tx {unique}", up))
        assert provider.definition()["auth_patterns"][0]["token_exchange"]["token_path"] == (
            "data.token"
        )
        copied = prod.providers.create(dev.providers.get(provider.identifier))
        assert copied.auth_patterns == provider.auth_patterns
        connection = dev.connections.create(provider.identifier, conn)
        assert connection.type == "TOKEN_EXCHANGE"
        account = dev.connected_accounts.create(
            conn,
            "sam",
            {"static_auth": {"details": {"client_id": "sdk-app", "client_secret": "sdk-secret"}}},
        )
        assert account.status == "ACTIVE" and account.authorization_type == "TOKEN_EXCHANGE"
        response = dev.actions.request(conn, "sam", "/v1/me")
        assert response.status_code == 200, response.text
        assert up.api_calls[-1].headers["authorization"] == f"Bearer {up.issued[0]}"
