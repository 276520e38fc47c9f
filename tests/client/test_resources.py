"""`client.providers`, `client.connections`, `client.connected_accounts` and the account
helpers on `client.actions`, against the real server (sync, plus an async subset)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import authrelay_client
from authrelay_client.models import ToggleConnectionResponse
from tests.support.resources import oauth_provider
from tests.support.servers import Server, create_client, create_environment, run_cli
from tests.support.upstream import RecordingUpstream, provider_definition


def sdk_for(server: Server, credentials: dict[str, str]) -> authrelay_client.Client:
    return authrelay_client.Client(
        server.url, credentials["client_id"], credentials["client_secret"]
    )


@pytest.fixture
def client(server: Server, dev_client: dict[str, str]) -> Iterator[authrelay_client.Client]:
    with sdk_for(server, dev_client) as sdk:
        yield sdk


def https_definition(name: str, **extra: object) -> dict[str, object]:
    return {
        "display_name": name,
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [{"field_name": "api_key", "label": "Key", "required": True}],
            }
        ],
        "proxy_url": "https://api.example.com/v1",
        "proxy_enabled": True,
        **extra,
    }


def test_provider_crud_and_pagination(server: Server, unique: str) -> None:
    environment = f"sdkenv{unique}"
    create_environment(server.backend, environment)
    with sdk_for(server, create_client(server.backend, environment)) as client:
        builtins = client.providers.list("default")
        assert builtins and not any(p.is_custom for p in builtins)
        assert client.providers.list("custom") == []

        created = [
            client.providers.create(https_definition(f"Page {unique} {i}")) for i in range(4)
        ]
        # a server-side model is validated client-side and sent as its stored form
        model = authrelay_client.ProviderDefinition.model_validate(
            https_definition(f"Model {unique}", description="from a model")
        )
        created.append(client.providers.create(model))
        assert all(isinstance(p, authrelay_client.Provider) and p.is_custom for p in created)
        assert created[-1].description == "from a model" and created[-1].etag

        paged = client.providers.list("custom", page_size=2)  # three pages
        assert [p.identifier for p in paged] == [p.identifier for p in created]
        everything = client.providers.list("ALL", page_size=7)
        assert len(everything) == len(builtins) + 5
        assert [p.identifier for p in everything] == [p.identifier for p in client.providers.list()]
        only = client.providers.list(identifier=created[0].identifier)
        assert [p.identifier for p in only] == [created[0].identifier]

        # get: by identifier, or by display name whatever its case
        first = client.providers.get(f"PAGE {unique} 0".lower())
        assert first.identifier == created[0].identifier
        assert client.providers.get(created[1].identifier).display_name == f"Page {unique} 1"
        assert client.providers.get(builtins[0].identifier).is_custom is False
        with pytest.raises(authrelay_client.NotFoundError) as missing:
            client.providers.get(f"nothing {unique}")
        assert missing.value.code == 5 and missing.value.status == 404

        # update with If-Match; a stale etag is refused
        definition = first.definition()
        assert set(definition) >= {"display_name", "auth_patterns", "proxy_url"}
        assert "id" not in definition and "etag" not in definition
        definition["description"] = "changed"
        updated = client.providers.update(first.identifier, definition, etag=first.etag)
        assert updated.description == "changed" and updated.etag != first.etag
        with pytest.raises(authrelay_client.FailedPreconditionError) as stale:
            client.providers.update(first.identifier, definition, etag=first.etag)
        assert stale.value.status == 412 and stale.value.code == 9
        again = client.providers.update(first.identifier, updated, etag=updated.etag)
        assert again.description == "changed"
        without_etag = client.providers.update(first.identifier, https_definition("Renamed"))
        assert without_etag.identifier == first.identifier
        assert without_etag.display_name == "Renamed"

        # the identifier is taken: 409 naming the field
        with pytest.raises(authrelay_client.AlreadyExistsError) as taken:
            client.providers.create(https_definition(f"Page {unique} 1"))
        assert taken.value.status == 409 and taken.value.code == 6
        assert [v["field"] for v in taken.value.field_violations] == ["display_name"]

        # invalid definitions name every bad field
        with pytest.raises(authrelay_client.InvalidArgumentError) as invalid:
            client.providers.create(
                {
                    **https_definition(f"Bad {unique}"),
                    "proxy_url": "ftp://x",
                    "metadata": {"a": "b"},
                }
            )
        fields = {v["field"] for v in invalid.value.field_violations}
        assert {"proxy_url", "metadata.a"} <= fields

        # built-in providers cannot be changed
        with pytest.raises(authrelay_client.PermissionDeniedError):
            client.providers.delete(builtins[0].identifier)

        # delete: with a stale etag refused, then gone
        with pytest.raises(authrelay_client.FailedPreconditionError):
            client.providers.delete(created[2].identifier, etag=f"{created[2].etag}x")
        for provider in created:
            client.providers.delete(provider.identifier)
        with pytest.raises(authrelay_client.NotFoundError):
            client.providers.delete(created[0].identifier)
        assert client.providers.list("custom", page_size=1) == []
        with pytest.raises(ValueError):
            client.providers.list("mine")
        with pytest.raises(TypeError):
            client.providers.create(42)  # type: ignore[arg-type]


def test_connections_and_accounts(
    client: authrelay_client.Client, upstream: RecordingUpstream, unique: str
) -> None:
    provider = client.providers.create(provider_definition(f"Sdk Conn {unique}", upstream))
    names = [f"sdkc-{unique}-{i}" for i in range(3)]
    connections = [client.connections.create(provider.identifier, key_id=n) for n in names]
    first = connections[0]
    assert isinstance(first, authrelay_client.Connection)
    assert first.id.startswith("conn_") and first.name == names[0] and first.type == "API_KEY"
    assert first.provider_key == provider.identifier and first.status == "COMPLETED"

    listed = client.connections.list(query=f"sdkc-{unique}", page_size=2)
    assert [c.key_id for c in listed] == names
    assert [c.key_id for c in client.connections.list(provider=provider.identifier)] == names
    assert client.connections.get(first.id).key_id == names[0]
    assert client.connections.get(names[0]).id == first.id
    assert client.connections.update(names[0], auth_mode="USER").auth_mode == "USER"
    with pytest.raises(authrelay_client.AlreadyExistsError):
        client.connections.create(provider.identifier, key_id=names[0])
    with pytest.raises(authrelay_client.InvalidArgumentError) as invalid:
        client.connections.update(names[0], id="conn_other")
    assert invalid.value.field_violations

    toggled = client.connections.disable(names[1])
    assert isinstance(toggled, ToggleConnectionResponse) and toggled.enabled is False
    assert client.connections.get(names[1]).enabled is False
    assert client.connections.enable(names[1]).enabled is True

    # accounts
    accounts = client.connected_accounts
    created = accounts.create(
        names[0], "a@example.com", {"static_auth": {"details": {"api_key": "k1"}}}
    )
    assert isinstance(created, authrelay_client.ConnectedAccount)
    assert created.id.startswith("ca_") and created.status == "ACTIVE"
    assert created.connector == names[0] and created.provider == provider.identifier
    accounts.create(names[0], "b@example.com", {"static_auth": {"details": {"api_key": "k2"}}})
    with pytest.raises(authrelay_client.AlreadyExistsError):
        accounts.create(names[0], "a@example.com", {"static_auth": {"details": {"api_key": "x"}}})
    with pytest.raises(authrelay_client.InvalidArgumentError):
        accounts.create(names[0], "c@example.com", {"static_auth": {"details": {"nope": "x"}}})

    listed_accounts = accounts.list(connector=names[0], page_size=1)
    assert sorted(a.identifier for a in listed_accounts) == ["a@example.com", "b@example.com"]
    assert all(a.authorization_details is None for a in listed_accounts)
    assert [a.id for a in accounts.list(names[0], "a@example.com")] == [created.id]
    assert len(accounts.list(connection_names=names)) == 2

    details = accounts.get(names[0], "a@example.com")
    assert details.id == created.id and "k1" not in details.model_dump_json()
    assert accounts.get(id=created.id).identifier == "a@example.com"
    auth = accounts.get_auth(names[0], "a@example.com")
    assert auth.authorization_details == {"static_auth": {"details": {"api_key": "k1"}}}

    updated = accounts.update(
        names[0], "a@example.com", {"static_auth": {"details": {"api_key": "k9"}}}
    )
    assert updated.id == created.id
    got = accounts.get_auth(id=created.id).authorization_details
    assert got == {"static_auth": {"details": {"api_key": "k9"}}}

    # actions: the account helpers
    assert client.actions.get_connected_account(names[0], "a@example.com").id == created.id
    same = client.actions.get_or_create_connected_account(names[0], "a@example.com")
    assert same.id == created.id
    new = client.actions.get_or_create_connected_account(
        names[2], "z@example.com", {"static_auth": {"details": {"api_key": "kz"}}}
    )
    assert new.status == "ACTIVE" and new.connector == names[2]
    assert client.actions.request(names[2], "z@example.com", "v1/x").status_code == 200
    assert upstream.requests[-1].header("Authorization") == "kz"
    with pytest.raises(authrelay_client.InvalidArgumentError):
        client.actions.get_or_create_connected_account(names[2], "no-details@example.com")
    with pytest.raises(authrelay_client.NotFoundError):
        client.actions.get_or_create_connected_account(f"nope-{unique}", "x")

    # a proxy refusal is both a ProxyError and the class of its code
    with pytest.raises(authrelay_client.NotFoundError) as refused:
        client.actions.request(names[0], "nobody@example.com", "v1/x")
    assert isinstance(refused.value, authrelay_client.ProxyError) and refused.value.status == 404

    disconnected = accounts.disconnect(created.id)
    assert disconnected.status == "DISCONNECTED"
    accounts.delete(names[0], "a@example.com")
    with pytest.raises(authrelay_client.NotFoundError):
        accounts.get(names[0], "a@example.com")
    with pytest.raises(authrelay_client.NotFoundError):
        accounts.delete(names[0], "a@example.com")

    # the provider is in use; the connection has accounts
    with pytest.raises(authrelay_client.FailedPreconditionError) as in_use:
        client.providers.delete(provider.identifier)
    assert names[0] in in_use.value.message
    with pytest.raises(authrelay_client.FailedPreconditionError):
        client.connections.delete(names[0])
    client.connections.delete(names[0], force=True)
    client.connections.delete(names[1])
    client.connections.delete(connections[2].id, force=True)
    with pytest.raises(authrelay_client.NotFoundError):
        client.connections.get(names[0])
    assert client.connected_accounts.list(connection_names=names) == []
    client.providers.delete(provider.identifier)


def test_oauth_get_or_create_and_link(client: authrelay_client.Client, unique: str) -> None:
    provider = client.providers.create(oauth_provider(f"Sdk Oauth {unique}"))
    connection = client.connections.create(
        provider.identifier,
        key_id=f"sdko-{unique}",
        type="OAUTH",
        oauth_config={"client_id": "cid", "client_secret": "csecret", "scopes": ["write"]},
    )
    assert connection.oauth_config is not None
    assert connection.oauth_config.client_id == "cid"
    assert connection.oauth_config.scopes[-1] == "write"
    assert "csecret" not in connection.model_dump_json()

    pending = client.actions.get_or_create_connected_account(connection.key_id, "o@example.com")
    assert pending.status == "PENDING_AUTH" and pending.authorization_type == "OAUTH"
    again = client.actions.get_or_create_connected_account(connection.key_id, "o@example.com")
    assert again.id == pending.id
    link = client.actions.get_authorization_link(connection.key_id, "o@example.com")
    assert isinstance(link, authrelay_client.AuthorizationLink) and link.link == link["link"]

    imported = client.connected_accounts.update(
        connection.key_id,
        "o@example.com",
        {"oauth_token": {"access_token": "at", "refresh_token": "rt"}},
    )
    assert imported.status == "ACTIVE"
    token = client.connected_accounts.get_auth(connection.key_id, "o@example.com")
    assert token.authorization_details is not None
    assert token.authorization_details["oauth_token"]["access_token"] == "at"
    client.connections.delete(connection.key_id, force=True)
    client.providers.delete(provider.identifier)


def test_token_renewal_on_every_resource(client: authrelay_client.Client, unique: str) -> None:
    client._auth.token = "stale"
    provider = client.providers.create(https_definition(f"Renew {unique}"))
    assert client._auth.token != "stale"
    client._auth.token = "stale"
    assert client.providers.get(provider.identifier).identifier == provider.identifier
    client._auth.token = "stale"
    connection = client.connections.create(provider.identifier, key_id=f"renew-{unique}")
    client._auth.token = "stale"
    client.connected_accounts.create(
        connection.key_id, "r", {"static_auth": {"details": {"api_key": "k"}}}
    )
    client._auth.token = "stale"
    assert [a.identifier for a in client.connected_accounts.list(connection.key_id)] == ["r"]
    client._auth.token = "stale"
    client.connections.delete(connection.id, force=True)
    client._auth.token = "stale"
    client.providers.delete(provider.identifier)


def test_async_client(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    async def run() -> None:
        async with authrelay_client.AsyncClient(
            server.url, dev_client["client_id"], dev_client["client_secret"]
        ) as client:
            provider = await client.providers.create(
                provider_definition(f"Async Res {unique}", upstream, type="BEARER")
            )
            assert (await client.providers.get(f"async res {unique}")).id == provider.id
            custom = await client.providers.list("custom", page_size=3)
            assert provider.identifier in [p.identifier for p in custom]
            client._auth.token = "stale"
            updated = await client.providers.update(
                provider.identifier, provider.definition() | {"description": "d"}, provider.etag
            )
            assert updated.description == "d"
            with pytest.raises(authrelay_client.FailedPreconditionError):
                await client.providers.update(
                    provider.identifier, provider.definition(), etag=provider.etag
                )

            name = f"ares-{unique}"
            connection = await client.connections.create(provider.identifier, name)
            assert (await client.connections.get(connection.id)).key_id == name
            assert [c.key_id for c in await client.connections.list(query=name)] == [name]
            assert (await client.connections.disable(name)).enabled is False
            assert (await client.connections.enable(name)).enabled is True
            assert (await client.connections.update(name, auth_mode="USER")).auth_mode == "USER"

            accounts = await asyncio.gather(
                *(
                    client.actions.get_or_create_connected_account(
                        name, f"u{i}", {"static_auth": {"details": {"token": f"t{i}"}}}
                    )
                    for i in range(3)
                )
            )
            assert {a.status for a in accounts} == {"ACTIVE"}
            listed = await client.connected_accounts.list(connector=name, page_size=2)
            assert sorted(a.identifier for a in listed) == ["u0", "u1", "u2"]
            auth = await client.connected_accounts.get_auth(name, "u1")
            assert auth.authorization_details == {"static_auth": {"details": {"token": "t1"}}}
            await client.connected_accounts.update(
                name, "u1", {"static_auth": {"details": {"token": "t9"}}}
            )
            assert (await client.actions.get_connected_account(name, "u1")).id == accounts[1].id
            response = await client.actions.request(name, "u1", "x")
            assert response.status_code == 200
            assert upstream.requests[-1].header("Authorization") == "Bearer t9"
            await client.connected_accounts.delete(name, "u0")
            with pytest.raises(authrelay_client.NotFoundError):
                await client.connected_accounts.get(name, "u0")
            acct = await client.connected_accounts.create(
                name, "u5", {"static_auth": {"details": {"token": "t5"}}}
            )
            assert (await client.connected_accounts.disconnect(acct.id)).status == "DISCONNECTED"

            with pytest.raises(authrelay_client.FailedPreconditionError):
                await client.connections.delete(name)
            await client.connections.delete(name, force=True)
            with pytest.raises(authrelay_client.NotFoundError):
                await client.connections.get(name)
            await client.providers.delete(provider.identifier)
            with pytest.raises(authrelay_client.NotFoundError):
                await client.providers.get(provider.identifier)

    asyncio.run(run())


def test_revoked_client_and_error_mapping(server: Server) -> None:
    credentials = create_client(server.backend, "dev")
    with sdk_for(server, credentials) as client:
        assert client.providers.list("custom") is not None
        run_cli(server.backend, "env", "delete-client", credentials["client_id"])
        # the cached token is refused (401), renewal is tried once and the credentials fail
        with pytest.raises(authrelay_client.AuthenticationError) as refused:
            client.providers.list("custom")
        assert refused.value.status == 401 and refused.value.error == "invalid_client"


def test_error_factory() -> None:
    from authrelay_client._exceptions import api_error

    assert (
        type(api_error(400, {"code": 3, "message": "m"})) is authrelay_client.InvalidArgumentError
    )
    assert (
        type(api_error(500, {})) is authrelay_client.InternalError
    )  # code derived from the status
    assert type(api_error(418, {"code": 99})) is authrelay_client.ApiError
    assert type(api_error(418, {"code": "x"})) is authrelay_client.ApiError
    proxied = api_error(502, {"code": 14, "message": "down"}, proxy=True)
    assert isinstance(proxied, authrelay_client.ProxyError) and isinstance(
        proxied, authrelay_client.UnavailableError
    )
    assert type(api_error(418, {}, proxy=True)) is authrelay_client.ProxyError
    error = api_error(
        400,
        {
            "code": 3,
            "message": "bad",
            "details": [{"field_violations": [{"field": "a", "description": "b"}]}, "junk"],
        },
    )
    assert error.field_violations == [{"field": "a", "description": "b"}]
    assert (error.status, error.code, error.message) == (400, 3, "bad")
