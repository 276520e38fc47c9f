"""The authorization endpoint's refusals (RFC 6749 §4.1.2.1: a page when the client or its
redirect URI is in doubt, a redirect with `error` otherwise), the hand-off's checks, client
ID metadata documents that are huge, slow, redirect or point at a private address, and the
metadata documents."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from authrelay_client import handoff
from tests.support.mcp_oauth_flow import REDIRECT, Flow, query
from tests.support.mcp_oauth_team import (
    TeamApp,
    running,
    serve_json,
    setup_config,
    sign_in_environment,
)
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream


@pytest.fixture
async def flow(
    server: Server, upstream: RecordingUpstream, unique: str
) -> AsyncIterator[tuple[Flow, TeamApp]]:
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"az-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        made = Flow(http, env, config["mcp_server_url"])
        await made.register()
        yield made, team


async def test_refusals_without_a_redirect(flow: tuple[Flow, TeamApp]) -> None:
    made, team = flow
    for overrides in (
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": "http://127.0.0.1:9/other"},
        {"client_id": "mcpc_unknown"},
    ):
        answer = await made.authorize(**overrides)
        assert answer.status_code == 400, (overrides, answer.text)
        assert "location" not in answer.headers
    # loopback redirect URIs may change port (RFC 8252 §7.3)
    moved = await made.authorize(redirect_uri="http://127.0.0.1:4567/callback")
    assert moved.status_code == 302
    assert moved.headers["location"].startswith(team.url)


async def test_refusals_sent_back_to_the_client(flow: tuple[Flow, TeamApp], server: Server) -> None:
    made, _ = flow
    cases = {
        "invalid_request": {"code_challenge_method": "plain"},
        "invalid_target": {"resource": f"{server.url}/mcp/v3/servers/cfg_nothere"},
        "unsupported_response_type": {"response_type": "token"},
    }
    for error, overrides in cases.items():
        answer = await made.authorize(**overrides)
        assert answer.status_code == 302, answer.text
        got = query(answer.headers["location"])
        assert answer.headers["location"].startswith(REDIRECT)
        assert got["error"] == error and got["state"] == "st-1", got
        assert got["iss"] == made.env.issuer
    missing = await made.authorize(resource="")
    assert query(missing.headers["location"])["error"] == "invalid_target"


async def test_handoff_checks(flow: tuple[Flow, TeamApp]) -> None:
    made, team = flow
    first = await made.authorize()
    request = query(first.headers["location"])["authrelay_request"]
    claims = handoff.verify_request(team.secret, request)
    handoff_url = f"{made.env.issuer}/handoff"
    forged = handoff.build_assertion("not-the-secret", claims["rid"], "mallory")
    answer = await made.http.get(handoff_url, params={"assertion": forged})
    assert answer.status_code == 400 and "location" not in answer.headers
    good = handoff.build_assertion(team.secret, claims["rid"], "alice")
    used = await made.http.get(handoff_url, params={"assertion": good})
    assert used.status_code == 302
    replayed = await made.http.get(handoff_url, params={"assertion": good})
    assert replayed.status_code == 400 and "already used" in replayed.text
    stray = handoff.build_assertion(team.secret, "no-such-request", "alice")
    assert (await made.http.get(handoff_url, params={"assertion": stray})).status_code == 400


async def _huge(request: web.Request) -> web.Response:
    return web.Response(body=b'{"pad": "' + b"x" * 6000 + b'"}', content_type="application/json")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(4)
    return web.json_response({})


async def _redirecting(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere.json")


async def _wrong_id(request: web.Request) -> web.Response:
    return web.json_response(
        {"client_id": "https://other.example/c.json", "redirect_uris": [REDIRECT]}
    )


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (_huge, "larger than"),
        (_slow, "timed out"),
        (_redirecting, "answered 302"),
        (_wrong_id, "client_id is not its URL"),
    ],
)
async def test_hostile_client_metadata_documents(
    flow: tuple[Flow, TeamApp], tls: tuple[Path, ssl.SSLContext], handler: object, reason: str
) -> None:
    made, _ = flow
    async with serve_json("/client.json", handler, tls[1]) as base:
        made.client_id = f"{base}/client.json"
        answer = await made.authorize()
    assert answer.status_code == 400 and "location" not in answer.headers
    assert reason in answer.text


async def test_client_metadata_document_at_a_private_address(flow: tuple[Flow, TeamApp]) -> None:
    made, _ = flow
    made.client_id = "https://192.168.7.7/client.json"  # outside the server's allowlist
    answer = await made.authorize()
    assert answer.status_code == 400 and "is not allowed" in answer.text


async def test_metadata_documents(flow: tuple[Flow, TeamApp], server: Server) -> None:
    made, _ = flow
    env_path = f"/mcp-oauth/{made.env.id}"
    urls = [
        f"{server.url}/.well-known/oauth-authorization-server{env_path}",
        f"{server.url}/.well-known/openid-configuration{env_path}",
        f"{server.url}{env_path}/.well-known/openid-configuration",
    ]
    documents = [(await made.http.get(url)).json() for url in urls]
    assert documents[0] == documents[1] == documents[2]
    meta = documents[0]
    assert meta["issuer"] == made.env.issuer
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["registration_endpoint"] == f"{made.env.issuer}/register"
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["revocation_endpoint"] == f"{made.env.issuer}/revoke"
    nowhere = await made.http.get(
        f"{server.url}/.well-known/oauth-authorization-server/mcp-oauth/env_x"
    )
    assert nowhere.status_code == 404
    root = await made.http.get(f"{server.url}/.well-known/oauth-authorization-server")
    assert root.status_code == 404  # no environment bound to 127.0.0.1


async def test_registration_checks(flow: tuple[Flow, TeamApp]) -> None:
    made, _ = flow
    register = f"{made.env.issuer}/register"
    for body, error in (
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": [REDIRECT], "grant_types": ["password"]}, "invalid_client_metadata"),
    ):
        answer = await made.http.post(register, json=body)
        assert answer.status_code == 400 and answer.json()["error"] == error, answer.text
