"""The team's side of the login hand-off as documented: the FastAPI examples of
docs/mcp-authorization.md, extracted from the page and run (uvicorn) as the team's app while
the official `mcp` SDK signs in through them (HMAC assertion, then JWT assertion checked
against the app's JWKS); and the JWT assertions authrelay refuses."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authrelay.mcp import authserver
from authrelay_client import handoff
from tests.mcp_oauth.test_flow import MemoryStorage, call_tools, host_provider
from tests.mcp_oauth.test_oidc import _environment_id
from tests.support.mcp_oauth_flow import REDIRECT, Flow, query
from tests.support.mcp_oauth_team import Browser, SignInEnv, follow, setup_config
from tests.support.servers import Server, create_client, create_environment, free_port, run_cli
from tests.support.upstream import RecordingUpstream

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp-authorization.md"


def example(name: str) -> str:
    """The python block after `<!-- team-app-example: NAME -->` in the docs."""
    text = DOC.read_text()
    found = re.search(rf"<!-- team-app-example: {name} -->\n```python\n(.*?)```", text, re.S)
    assert found, f"no team-app-example {name} in {DOC}"
    return found.group(1)


def test_examples_are_short() -> None:
    for name in ("hmac", "jwt"):
        code = [line for line in example(name).splitlines() if line.strip()]
        assert len(code) <= 22, (name, len(code))


@asynccontextmanager
async def run_example(
    name: str, port: int, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """The docs' example app on 127.0.0.1:`port`; the app's own `current_user` signs in
    alice."""
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {
        "__name__": f"team_app_{name}",
        "current_user": lambda request: SimpleNamespace(email="alice"),
    }
    exec(compile(example(name), f"<{DOC.name}:{name}>", "exec"), namespace)
    config = uvicorn.Config(
        namespace["app"], host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the example app did not start"
    try:
        yield
    finally:
        server.should_exit = True
        await task


def handoff_environment(server: Server, name: str, *args: str) -> tuple[SignInEnv, str]:
    """A new environment with a hand-off (`args`: --handoff-url … and more); its secret."""
    create_environment(server.backend, name)
    client = create_client(server.backend, name)
    shown = json.loads(run_cli(server.backend, "env", "login", name, *args, "--json").stdout)
    env_id = _environment_id(server, client)
    return SignInEnv(name, env_id, client, f"{server.url}/mcp-oauth/{env_id}"), str(
        shown["handoff_secret"]
    )


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def test_documented_hmac_example_as_the_team_app(
    server: Server, upstream: RecordingUpstream, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    login = f"http://127.0.0.1:{port}/mcp-login"
    env, secret = handoff_environment(server, f"exh-{unique}", "--handoff-url", login)
    with server.api(env.client) as api:
        _, _, config = setup_config(api, upstream, unique, "alice")
    url = config["mcp_server_url"]
    async with run_example("hmac", port, {"AUTHRELAY_HANDOFF_SECRET": secret}, monkeypatch):
        browser = Browser(f"http://127.0.0.1:{free_port()}/callback")
        upstream.clear()
        names, result = await call_tools(
            url, host_provider(url, browser, MemoryStorage()), f"items_{unique}"
        )
    assert f"items_{unique}" in names and not result.is_error, result
    assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1"]


async def test_documented_jwt_example_as_the_team_app(
    server: Server, upstream: RecordingUpstream, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env, secret = handoff_environment(
        server,
        f"exj-{unique}",
        "--handoff-url",
        f"{base}/mcp-login",
        "--handoff-jwks-url",
        f"{base}/mcp-jwks",
    )
    with server.api(env.client) as api:
        _, _, config = setup_config(api, upstream, unique, "alice")
    url = config["mcp_server_url"]
    environ = {
        "AUTHRELAY_HANDOFF_SECRET": secret,
        "MCP_LOGIN_KEY_PEM": pem(ec.generate_private_key(ec.SECP256R1())),
    }
    async with run_example("jwt", port, environ, monkeypatch):
        browser = Browser(f"http://127.0.0.1:{free_port()}/callback")
        upstream.clear()
        names, result = await call_tools(
            url, host_provider(url, browser, MemoryStorage()), f"items_{unique}"
        )
        assert f"items_{unique}" in names and not result.is_error, result
        assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1"]
        # the same app once JWT assertions are turned off: its assertion is refused
        run_cli(server.backend, "env", "login", env.name, "--handoff-jwks-url", "")
        async with httpx.AsyncClient(timeout=30) as http:
            flow = Flow(http, env, url)
            await flow.register()
            first = await flow.authorize()
            back = await http.get(first.headers["location"])
            assert back.status_code == 302, back.text
            assert handoff.is_jwt(query(back.headers["location"])["assertion"])
            refused = await http.get(back.headers["location"])
    assert refused.status_code == 400 and "could not be verified" in refused.text


@asynccontextmanager
async def jwks_server(document: dict[str, Any]) -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(document)

    app = web.Application()
    app.router.add_get("/jwks", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/jwks"
    finally:
        await runner.cleanup()


@pytest.fixture
def keys() -> Iterator[tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]]:
    yield ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


async def test_jwt_assertions_refused(
    server: Server,
    upstream: RecordingUpstream,
    unique: str,
    keys: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey],
) -> None:
    good, other = keys
    async with jwks_server(handoff.public_jwks(good, kid="k1")) as jwks_url:
        env, secret = handoff_environment(
            server,
            f"jwr-{unique}",
            "--handoff-url",
            "http://127.0.0.1:9/login",
            "--handoff-jwks-url",
            jwks_url,
        )
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
        async with httpx.AsyncClient(timeout=30) as http:
            flow = Flow(http, env, config["mcp_server_url"])
            await flow.register()
            first = await flow.authorize()
            request = handoff.verify_request(
                secret, query(first.headers["location"])["authrelay_request"]
            )
            rid, back = request["rid"], request["return_to"]

            async def send(assertion: str) -> httpx.Response:
                return await http.get(back, params={"assertion": assertion})

            now = int(time.time())
            claims = {"typ": handoff.ASSERTION_TYPE, "rid": rid, "sub": "alice", "aud": back}
            cases = {
                "another key": handoff.build_jwt_assertion(other, rid, "alice", back, kid="k1"),
                "another kid": handoff.build_jwt_assertion(good, rid, "alice", back, kid="k9"),
                "another audience": handoff.build_jwt_assertion(
                    good, rid, "alice", f"{server.url}/elsewhere", kid="k1"
                ),
                "HMAC JWT": jwt.encode(
                    {**claims, "iat": now, "exp": now + 60}, secret, algorithm="HS256"
                ),
                "expired": jwt.encode(
                    {**claims, "iat": now - 400, "exp": now - 100},
                    good,
                    algorithm="ES256",
                    headers={"kid": "k1"},
                ),
                "too long a life": jwt.encode(
                    {**claims, "iat": now, "exp": now + 3600},
                    good,
                    algorithm="ES256",
                    headers={"kid": "k1"},
                ),
                "not an assertion": jwt.encode(
                    {**claims, "typ": handoff.REQUEST_TYPE, "iat": now, "exp": now + 60},
                    good,
                    algorithm="ES256",
                    headers={"kid": "k1"},
                ),
            }
            for case, assertion in cases.items():
                answer = await send(assertion)
                # refused before any consent page: no redirect, no consent cookie
                assert answer.status_code == 400, (case, answer.text)
                assert "could not be verified" in answer.text, (case, answer.text)
                assert authserver.CONSENT_COOKIE not in answer.headers.get("set-cookie", "")
            assert authserver.CONSENT_COOKIE not in http.cookies
            accepted = await send(handoff.build_jwt_assertion(good, rid, "alice", back, kid="k1"))
            assert accepted.status_code == 302, accepted.text
            consent = accepted.headers["location"]
            assert consent == f"{env.issuer}/consent/{rid}", consent
            # the same assertion again while the consent page waits, and after Allow (the
            # grant now exists): both refused
            replayed = await send(handoff.build_jwt_assertion(good, rid, "alice", back, kid="k1"))
            assert replayed.status_code == 400, replayed.text
            got, _ = await follow(http, consent, REDIRECT)
            assert got["state"] == "st-1" and got["code"] and got["iss"] == env.issuer
            replayed = await send(handoff.build_jwt_assertion(good, rid, "alice", back, kid="k1"))
            assert replayed.status_code == 400, replayed.text
