"""Sign-in through an OpenID Connect provider: the real `oidc-provider` (tests/oauth_server)
as the team's identity provider. The official `mcp` SDK's OAuth client, given only the MCP
URL, is sent by authrelay to the provider's login (driven like a browser through its
interaction forms), authrelay verifies the ID token and takes the user from its claim, and
tools/call reaches the recording upstream with that user's credential. Then the refusals:
a callback for no sign-in, a replayed callback, the user cancelling at the provider, an
unverified email, a missing claim; and `env login`'s output and storage of the secret."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from authrelay.mcp import oidc
from tests.mcp_oauth.test_flow import MemoryStorage, call_tools, host_provider
from tests.support.cli import run_authrelay
from tests.support.mcp_oauth_flow import REDIRECT, Flow, query
from tests.support.mcp_oauth_team import Browser, SignInEnv, follow, setup_config
from tests.support.oauth_server import OAuthServer, complete_login, start_oauth_server
from tests.support.rawdb import raw_bytes
from tests.support.servers import Server, create_client, create_environment, free_port, run_cli
from tests.support.upstream import RecordingUpstream

CLIENT_ID = "authrelay-mcp"
CLIENT_SECRET = "oidc-client-secret-8f2b1c"


@dataclass
class OidcBrowser(Browser):
    """The MCP host's browser when the environment signs in with an OIDC provider: authrelay
    sends it to the provider, whose login and consent forms it fills in as `user`."""

    user: str = "alice"

    async def redirect(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            first = await http.get(url)  # authrelay's authorization endpoint
            assert first.status_code == 302, first.text
            back = await asyncio.to_thread(complete_login, first.headers["location"], self.user)
            # the provider sends the browser back to authrelay's callback, which signs the
            # user in and shows the consent page; the user allows
            signed_in = await http.get(urljoin(str(back.url), back.headers["location"]))
            assert signed_in.status_code == 302, signed_in.text
            consent = signed_in.headers["location"]
            assert "/consent/" in urlsplit(consent).path, consent
            self.result, self.last = await follow(http, consent, self.redirect_prefix)
        assert self.last is not None and self.last.status_code == 303, self.last


def _environment_id(server: Server, client: dict[str, str]) -> str:
    token_claims = server.token(client).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(token_claims + "=" * (-len(token_claims) % 4)))
    return str(claims["env"])


@asynccontextmanager
async def oidc_environment(
    server: Server, name: str, tmp_path: Path, *extra: str
) -> AsyncIterator[tuple[SignInEnv, OAuthServer]]:
    """A new environment whose MCP users sign in with a running oidc-provider."""
    create_environment(server.backend, name)
    client = create_client(server.backend, name)
    env_id = _environment_id(server, client)
    issuer = f"{server.url}/mcp-oauth/{env_id}"
    provider = await asyncio.to_thread(
        start_oauth_server,
        tmp_path,
        [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{issuer}/oidc/callback"],
            }
        ],
    )
    try:
        args = ["env", "login", name, "--oidc-issuer", provider.issuer]
        args += ["--oidc-client-id", CLIENT_ID, "--oidc-client-secret-stdin", "--json", *extra]
        shown = run_authrelay(args, server.backend.env(), stdin=CLIENT_SECRET + "\n")
        assert shown.returncode == 0, shown.stderr
        assert CLIENT_SECRET not in shown.stdout
        # (the CLI knows the server's URL from AUTHRELAY_PUBLIC_URL; the test server's port
        # is its own)
        redirect = json.loads(shown.stdout)["oidc_redirect_uri"]
        assert redirect.endswith(f"/mcp-oauth/{env_id}/oidc/callback")
        yield SignInEnv(name, env_id, client, issuer), provider
    finally:
        provider.stop()


async def test_mcp_sdk_signs_in_with_the_oidc_provider(
    server: Server, upstream: RecordingUpstream, unique: str, tmp_path: Path
) -> None:
    async with oidc_environment(server, f"oidc-{unique}", tmp_path) as (env, provider):
        with server.api(env.client) as api:
            # the provider's email claim names the user: alice@example.com
            _, _, config = setup_config(api, upstream, unique, "alice@example.com")
        url = config["mcp_server_url"]
        browser = OidcBrowser(f"http://127.0.0.1:{free_port()}/callback", user="alice")
        storage = MemoryStorage()
        upstream.clear()
        names, result = await call_tools(
            url, host_provider(url, browser, storage), f"items_{unique}"
        )
        assert f"items_{unique}" in names
        assert not result.is_error, result
        assert [r.header("X-Api-Key") for r in upstream.requests] == ["k-secret-1"]
        assert browser.result["iss"] == env.issuer
        # authrelay exchanged the provider's code with its client secret (basic auth)
        assert provider.stats()["token_requests_by_grant"]["authorization_code"] == 1
        # the environment's setting, shown without the secret
        shown = json.loads(run_cli(server.backend, "env", "login", env.name, "--json").stdout)
        assert shown["sign_in"] == "oidc" and shown["oidc_issuer"] == provider.issuer
        assert shown["oidc_client_id"] == CLIENT_ID and shown["identifier_claim"] == "email"
        assert CLIENT_SECRET not in json.dumps(shown)


async def test_identifier_claim_sub_and_a_user_without_accounts(
    server: Server, upstream: RecordingUpstream, unique: str, tmp_path: Path
) -> None:
    extra = ("--identifier-claim", "sub")
    async with (
        oidc_environment(server, f"sub-{unique}", tmp_path, *extra) as (env, _),
        httpx.AsyncClient(timeout=30) as http,
    ):
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "bob")
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register()
        first = await flow.authorize()
        assert first.status_code == 302
        target = first.headers["location"]
        assert "nonce=" in target and "code_challenge_method=S256" in target
        back = await asyncio.to_thread(complete_login, target, "bob")
        done = await http.get(urljoin(str(back.url), back.headers["location"]))
        assert done.status_code == 302, done.text
        state = query(target)["state"]
        assert done.headers["location"] == f"{env.issuer}/consent/{state}"
        # the same callback again: the pending sign-in is used up
        again = await http.get(urljoin(str(back.url), back.headers["location"]))
        assert again.status_code == 400 and "already used" in again.text
        got, _ = await follow(http, done.headers["location"], REDIRECT)
        assert got["state"] == "st-1" and got["code"] and got["iss"] == env.issuer


async def test_callback_refusals_and_cancel(
    server: Server, upstream: RecordingUpstream, unique: str, tmp_path: Path
) -> None:
    async with (
        oidc_environment(server, f"cb-{unique}", tmp_path) as (env, _),
        httpx.AsyncClient(timeout=30) as http,
    ):
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice@example.com")
        unknown = await http.get(f"{env.issuer}/oidc/callback", params={"code": "x", "state": "y"})
        assert unknown.status_code == 400 and "no authorization in progress" in unknown.text
        flow = Flow(http, env, config["mcp_server_url"])
        await flow.register()
        first = await flow.authorize()
        back = await asyncio.to_thread(
            complete_login, first.headers["location"], "alice", approve=False
        )
        cancelled = await http.get(urljoin(str(back.url), back.headers["location"]))
        assert cancelled.status_code == 302
        got = query(cancelled.headers["location"])
        assert got["error"] == "access_denied" and got["state"] == "st-1"
        # a forged code for a real pending sign-in: the provider refuses it
        second = await flow.authorize()
        state = query(second.headers["location"])["state"]
        forged = await http.get(
            f"{env.issuer}/oidc/callback", params={"code": "forged", "state": state}
        )
        assert forged.status_code == 400 and "refused the code" in forged.text


async def test_hand_off_assertions_refused_when_oidc_is_configured(
    server: Server, unique: str, tmp_path: Path
) -> None:
    async with (
        oidc_environment(server, f"ho-{unique}", tmp_path) as (env, _),
        httpx.AsyncClient(timeout=30) as http,
    ):
        answer = await http.get(f"{env.issuer}/handoff", params={"assertion": "a.b"})
        assert answer.status_code == 400 and "no sign-in hand-off" in answer.text


def test_env_login_checks_and_the_stored_secret(server: Server, unique: str) -> None:
    name = f"chk-{unique}"
    create_environment(server.backend, name)
    env = server.backend.env()
    for args, says in (
        (["--oidc-client-id", "x"], "go with --oidc-issuer"),
        (["--oidc-issuer", "http://idp.example", "--oidc-client-id", "x"], "https"),
        (["--oidc-issuer", "https://idp.example"], "oidc_client_id"),
        (["--oidc-issuer", "https://idp.example", "--oidc-client-id", "x"], "secret"),
        (
            ["--oidc-issuer", "https://idp.example", "--handoff-url", "https://a.example/l"],
            "either",
        ),
        (["--handoff-jwks-url", "http://app.example/jwks"], "https"),
    ):
        refused = run_authrelay(["env", "login", name, *args], env)
        assert refused.returncode != 0, args
        assert says in refused.stdout + refused.stderr, (args, refused.stdout, refused.stderr)
    secret = f"s3cret-{unique}"
    args = ["env", "login", name, "--oidc-issuer", "https://idp.example"]
    args += ["--oidc-client-id", "cid", "--oidc-client-secret-stdin"]
    done = run_authrelay(args, env, stdin=secret)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout and "https://idp.example" in done.stdout
    assert secret.encode() not in raw_bytes(server.backend)  # encrypted by the vault
    # the issuer and client id change without a new secret; the secret is kept
    again = run_authrelay(
        [
            "env",
            "login",
            name,
            "--oidc-issuer",
            "https://idp2.example",
            "--oidc-client-id",
            "cid2",
            "--identifier-claim",
            "sub",
            "--json",
        ],
        env,
    )
    assert again.returncode == 0, again.stderr
    shown = json.loads(again.stdout)
    assert shown["oidc_issuer"] == "https://idp2.example" and shown["identifier_claim"] == "sub"
    # a hand-off replaces the provider
    handoff = run_authrelay(
        ["env", "login", name, "--handoff-url", "https://a.example/l", "--json"], env
    )
    shown = json.loads(handoff.stdout)
    assert shown["sign_in"] == "handoff" and shown["oidc_issuer"] is None


@pytest.mark.parametrize(
    ("claims", "claim", "expected"),
    [
        ({"sub": "u1", "email": "a@x.example", "email_verified": True}, "email", "a@x.example"),
        ({"sub": "u1", "email": "a@x.example"}, "email", "a@x.example"),  # not said: accepted
        ({"sub": "u1", "email": "a@x.example", "email_verified": False}, "email", None),
        ({"sub": "u1", "email": "a@x.example", "email_verified": "false"}, "email", None),
        ({"sub": "u1"}, "email", None),
        ({"sub": "u1", "email": ""}, "email", None),
        ({"sub": "u1"}, "sub", "u1"),
        ({"sub": "u1", "oid": True}, "oid", None),
    ],
)
def test_identifier_from_claims(
    claims: dict[str, object], claim: str, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(oidc.OidcError):
            oidc.identifier(claims, claim)
    else:
        assert oidc.identifier(claims, claim) == expected
