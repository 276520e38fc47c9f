"""POST /oauth/token, GET /keys, and every way an API token can be refused (SPEC §1)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.keys import environment_id, server_signing_key
from tests.support.servers import Server, create_client, run_cli


def _token_request(server: Server, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/oauth/token", **kwargs)


def test_form_json_and_basic_client_authentication(
    server: Server, dev_client: dict[str, str]
) -> None:
    form = {
        "grant_type": "client_credentials",
        **{k: dev_client[k] for k in ("client_id", "client_secret")},
    }
    responses = [
        _token_request(server, data=form),
        _token_request(server, json=form),
        _token_request(
            server,
            data={"grant_type": "client_credentials"},
            auth=(quote(dev_client["client_id"]), quote(dev_client["client_secret"])),
        ),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert response.headers["cache-control"] == "no-store"


def test_token_is_a_jwt_verifiable_with_the_jwks(
    server: Server, dev_client: dict[str, str]
) -> None:
    token = server.token(dev_client)
    keys = httpx.get(f"{server.url}/keys").json()["keys"]
    header = jwt.get_unverified_header(token)
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="authrelay-api")
    assert claims["client_id"] == dev_client["client_id"]
    assert claims["env"] == environment_id(server.backend, "dev")
    assert {"iat", "exp", "jti"} <= set(claims)


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        (
            {
                "data": {
                    "grant_type": "client_credentials",
                    "client_id": "arc_nobody",
                    "client_secret": "x",
                }
            },
            401,
            "invalid_client",
        ),
        ({"data": {"grant_type": "client_credentials"}}, 400, "invalid_request"),
        ({"data": {"client_id": "a", "client_secret": "b"}}, 400, "invalid_request"),
        (
            {"data": {"grant_type": "password", "client_id": "a", "client_secret": "b"}},
            400,
            "unsupported_grant_type",
        ),
        (
            {"content": b"grant_type=client_credentials&grant_type=client_credentials"},
            400,
            "invalid_request",
        ),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_request",
        ),
        ({"json": {"grant_type": "client_credentials", "client_id": 5}}, 400, "invalid_request"),
    ],
)
def test_token_errors_follow_rfc6749(
    server: Server, kwargs: dict[str, Any], status: int, error: str
) -> None:
    response = _token_request(server, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["error_description"]


def test_wrong_secret_and_mixed_authentication(server: Server, dev_client: dict[str, str]) -> None:
    response = _token_request(
        server,
        data={
            "grant_type": "client_credentials",
            "client_id": dev_client["client_id"],
            "client_secret": "wrong",
        },
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = _token_request(
        server,
        data={"grant_type": "client_credentials", "client_secret": dev_client["client_secret"]},
        auth=(dev_client["client_id"], dev_client["client_secret"]),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = _token_request(
        server, data={"grant_type": "client_credentials"}, auth=(dev_client["client_id"], "bad")
    )
    assert response.status_code == 401 and "www-authenticate" in response.headers


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(server: Server, client: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "authrelay",
        "aud": "authrelay-api",
        "sub": client["client_id"],
        "client_id": client["client_id"],
        "env": environment_id(server.backend, "dev"),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "test",
    }
    claims.update(changes)
    return claims


def _assert_401(server: Server, token: str | None, fragment: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = httpx.get(f"{server.url}/api/v1/providers", headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == 16 and fragment in body["message"]


def test_refused_tokens(server: Server, dev_client: dict[str, str]) -> None:
    kid, key = server_signing_key(server.backend)
    now = int(time.time())
    good = jwt.encode(_claims(server, dev_client), key, algorithm="EdDSA", headers={"kid": kid})
    assert (
        httpx.get(
            f"{server.url}/api/v1/providers", headers={"Authorization": f"Bearer {good}"}
        ).status_code
        == 200
    )

    _assert_401(server, None, "missing API token")
    _assert_401(server, "garbage", "malformed")
    expired = jwt.encode(
        _claims(server, dev_client, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    _assert_401(server, expired, "expired")
    forged = jwt.encode(
        _claims(server, dev_client),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    _assert_401(server, forged, "invalid")
    unknown_kid = jwt.encode(
        _claims(server, dev_client),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": "key_other"},
    )
    _assert_401(server, unknown_kid, "unknown key")
    none_alg = (
        _b64({"alg": "none", "typ": "JWT", "kid": kid})
        + "."
        + _b64(_claims(server, dev_client))
        + "."
    )
    _assert_401(server, none_alg, "algorithm")
    hs256 = jwt.encode(
        _claims(server, dev_client),
        "secret-guess-of-at-least-32-bytes!",
        algorithm="HS256",
        headers={"kid": kid},
    )
    _assert_401(server, hs256, "algorithm")
    tampered_env = good.split(".")
    tampered_env[1] = _b64(_claims(server, dev_client, env="env_other"))
    _assert_401(server, ".".join(tampered_env), "invalid")
    wrong_audience = jwt.encode(
        _claims(server, dev_client, aud="someone-else"),
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    _assert_401(server, wrong_audience, "invalid")


def test_deleted_client_tokens_stop_working(server: Server) -> None:
    client = create_client(server.backend, "dev")
    token = server.token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/providers", headers=headers).status_code == 200
    run_cli(server.backend, "env", "delete-client", client["client_id"])
    _assert_401(server, token, "no longer exists")
    response = _token_request(
        server,
        data={
            "grant_type": "client_credentials",
            **{k: client[k] for k in ("client_id", "client_secret")},
        },
    )
    assert response.status_code == 401


def test_host_bound_environment_refuses_other_tokens(
    server: Server, prod_client: dict[str, str], unique: str
) -> None:
    host = f"acme-{unique}.example.test"
    run_cli(server.backend, "env", "create", f"acme-{unique}", "--host", host)
    made = run_cli(server.backend, "env", "create-client", f"acme-{unique}", "--json")
    acme = json.loads(made.stdout)
    assert acme["environment_url"].startswith(f"http://{host}")
    on_host = {"Host": host}
    prod_token = server.token(prod_client)
    response = httpx.get(
        f"{server.url}/api/v1/providers",
        headers={**on_host, "Authorization": f"Bearer {prod_token}"},
    )
    assert response.status_code == 401 and "another environment" in response.json()["message"]
    response = _token_request(
        server,
        headers=on_host,
        data={
            "grant_type": "client_credentials",
            **{k: prod_client[k] for k in ("client_id", "client_secret")},
        },
    )
    assert response.status_code == 401
    response = _token_request(
        server,
        headers=on_host,
        data={
            "grant_type": "client_credentials",
            **{k: acme[k] for k in ("client_id", "client_secret")},
        },
    )
    assert response.status_code == 200
    acme_token = response.json()["access_token"]
    response = httpx.get(
        f"{server.url}/api/v1/providers",
        headers={**on_host, "Authorization": f"Bearer {acme_token}"},
    )
    assert response.status_code == 200


def test_environments_are_isolated(
    server: Server, dev_client: dict[str, str], prod_client: dict[str, str], unique: str
) -> None:
    definition = {
        "display_name": f"Prod Only {unique}",
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token"}]}],
        "proxy_url": "https://api.example.com",
        "proxy_enabled": True,
    }
    identifier = f"prodonly{unique}"
    with server.api(prod_client) as prod, server.api(dev_client) as dev:
        assert prod.post("/api/v1/custom-providers", json=definition).status_code == 201
        listed = dev.get("/api/v1/providers", params={"page_size": 1000}).json()
        assert identifier not in {p["identifier"] for p in listed["providers"]}
        assert (
            dev.get("/api/v1/providers", params={"identifier": identifier}).json()["total_size"]
            == 0
        )
        assert dev.get(f"/api/v1/providers/{identifier}").status_code == 404
        assert dev.put(f"/api/v1/custom-providers/{identifier}", json=definition).status_code == 404
        assert dev.delete(f"/api/v1/custom-providers/{identifier}").status_code == 404
        # the same display name is free in dev: environments do not share custom identifiers
        assert dev.post("/api/v1/custom-providers", json=definition).status_code == 201
        assert (
            prod.get(f"/api/v1/providers/{identifier}").json()["provider"]["display_name"]
            == definition["display_name"]
        )
        # dev's log holds its own work and never the production client's (other tests'
        # dev clients write there too, so every page is read)
        actors: set[str] = set()
        token = ""
        while True:
            page = dev.get("/api/v1/audit-logs", params={"page_size": 1000, "page_token": token})
            actors |= {entry["actor"]["client_id"] for entry in page.json()["audit_logs"]}
            token = page.json()["next_page_token"]
            if not token:
                break
        assert dev_client["client_id"] in actors and prod_client["client_id"] not in actors


NUL = "must not contain NUL characters (U+0000)"


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (b"grant_type=a&grant_type=b", "parameter 'grant_type' is repeated"),
        (b"grant_type=\xff", "the body is not UTF-8"),
        (b"client_id=a%00&client_secret=b%00", f"client_id, client_secret: {NUL}"),
    ],
)
def test_malformed_forms_are_described_in_rfc6749s_shape(
    server: Server, body: bytes, description: str
) -> None:
    response = _token_request(
        server, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert response.headers["cache-control"] == "no-store"
