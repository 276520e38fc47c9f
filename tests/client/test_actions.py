"""`authrelay_client.Client` / `AsyncClient`: `actions.request` against the real server, sync and
async, with token renewal after a 401."""

from __future__ import annotations

import asyncio

import pytest

import authrelay_client
from tests.support.proxy import enable
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream, provider_definition


def test_public_surface() -> None:
    assert set(authrelay_client.__all__) == {
        "APIConnectionError", "APITimeoutError",
        "AlreadyExistsError", "ApiError", "AsyncClient", "AuthenticationError",
        "AuthorizationLink", "AuthrelayClientError", "Client", "Code", "ConfigurationError",
        "ConnectedAccount", "Connection", "DeadlineExceededError", "FailedPreconditionError",
        "InternalError", "InvalidArgumentError", "NotFoundError", "PermissionDeniedError",
        "Provider", "ProviderDefinition", "ProxyError", "UnauthenticatedError",
        "UnavailableError", "UnimplementedError", "__version__",
    }  # fmt: skip
    for name in authrelay_client.__all__:
        assert hasattr(authrelay_client, name)


def test_sync_request(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Sdk {unique}", upstream),
            f"sdk-{unique}",
            "user@example.com",
            {"api_key": "sdk-key"},
        )
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        upstream.clear()
        response = client.actions.request(
            f"sdk-{unique}",
            "user@example.com",
            "/v1/items",
            method="post",
            query_params={"q": "a b"},
            body={"name": "x"},
            headers={"X-Trace": "1"},
        )
        assert response.status_code == 200
        seen = upstream.requests[-1]
        assert seen.method == "POST" and seen.raw_path == "/api/v1/items?q=a+b"
        assert seen.body == b'{"name":"x"}' and seen.header("Content-Type") == "application/json"
        assert seen.header("Authorization") == "sdk-key" and seen.header("X-Trace") == "1"
        client.actions.request(
            f"sdk-{unique}", "user@example.com", "v1/form", method="POST", form_data={"a": "1"}
        )
        assert upstream.requests[-1].body == b"a=1"
        client.actions.request(
            f"sdk-{unique}", "user@example.com", "v1/raw", method="PUT", raw_body=b"\x00\x01"
        )
        assert upstream.requests[-1].body == b"\x00\x01"
        # the upstream's own errors come back as responses
        assert (
            client.actions.request(f"sdk-{unique}", "user@example.com", "status/404").status_code
            == 404
        )
        # authrelay's own refusals raise
        with pytest.raises(authrelay_client.ProxyError) as caught:
            client.actions.request(f"sdk-{unique}", "nobody", "v1/items")
        assert caught.value.status == 404 and caught.value.code == 5
        # a stale token is renewed once, transparently
        client._auth.token = "expired-or-revoked"
        assert (
            client.actions.request(f"sdk-{unique}", "user@example.com", "v1/again").status_code
            == 200
        )
        with pytest.raises(ValueError):
            client.actions.request(f"sdk-{unique}", "user@example.com", "x", body={}, raw_body=b"")


def test_async_request_and_configuration_from_environment(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Async Sdk {unique}", upstream, type="BEARER"),
            f"asdk-{unique}",
            "u",
            {"token": "tkn"},
        )
    monkeypatch.setenv("SCALEKIT_ENVIRONMENT_URL", server.url)
    monkeypatch.setenv("SCALEKIT_CLIENT_ID", dev_client["client_id"])
    monkeypatch.setenv("SCALEKIT_CLIENT_SECRET", dev_client["client_secret"])

    async def run() -> None:
        async with authrelay_client.AsyncClient() as client:
            upstream.clear()
            responses = await asyncio.gather(
                *(client.actions.request(f"asdk-{unique}", "u", f"n/{i}") for i in range(5))
            )
            assert [r.status_code for r in responses] == [200] * 5
            assert {r.header("Authorization") for r in upstream.requests} == {"Bearer tkn"}
            client._auth.token = "stale"
            assert (
                await client.actions.request(f"asdk-{unique}", "u", "again", timeout=10)
            ).status_code == 200

    asyncio.run(run())
    with (
        authrelay_client.Client(server.url, dev_client["client_id"], "wrong") as wrong,
        pytest.raises(authrelay_client.AuthenticationError),
    ):
        wrong.actions.request("x", "y", "z")
    monkeypatch.delenv("SCALEKIT_CLIENT_SECRET")
    with pytest.raises(authrelay_client.ConfigurationError):
        authrelay_client.Client()


def test_get_authorization_link(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        definition = provider_definition(f"Link Sdk {unique}", upstream)
        assert api.post("/api/v1/custom-providers", json=definition).status_code == 201
        api.post(
            "/api/v1/connections",
            json={"provider_key": f"linksdk{unique}", "key_id": f"lsdk-{unique}"},
        )
    with authrelay_client.Client(
        server.url, dev_client["client_id"], dev_client["client_secret"]
    ) as client:
        link = client.actions.get_authorization_link(
            f"lsdk-{unique}",
            "new@example.com",
            state="s1",
            user_verify_url="https://app.example.com/v",
        )
        assert link["link"].startswith(f"{server.url}/connect/") and link["expiry"]
        with pytest.raises(authrelay_client.ApiError) as caught:
            client.actions.get_authorization_link(f"nope-{unique}", "x")
        assert caught.value.status == 404

    async def run() -> authrelay_client.AuthorizationLink:
        async with authrelay_client.AsyncClient(
            server.url, dev_client["client_id"], dev_client["client_secret"]
        ) as client:
            return await client.actions.get_authorization_link(
                f"lsdk-{unique}", "other@example.com"
            )

    assert asyncio.run(run())["link"].startswith(f"{server.url}/connect/")
