"""The authorization code flow driven by hand (httpx, no redirects followed), for the tests
that tamper with one step."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.mcp_oauth_team import SignInEnv, TeamApp, follow

REDIRECT = "http://127.0.0.1:9/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Flow:
    http: httpx.AsyncClient
    env: SignInEnv
    resource: str
    client_id: str = ""

    async def register(self, redirect_uris: list[str] | None = None) -> str:
        answer = await self.http.post(
            f"{self.env.issuer}/register",
            json={"redirect_uris": redirect_uris or [REDIRECT], "client_name": "t"},
        )
        assert answer.status_code == 201, answer.text
        self.client_id = str(answer.json()["client_id"])
        return self.client_id

    async def authorize(self, **overrides: str) -> httpx.Response:
        _, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "state": "st-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.resource,
        }
        params.update(overrides)
        return await self.http.get(
            f"{self.env.issuer}/authorize", params={k: v for k, v in params.items() if v}
        )

    async def code(self, team: TeamApp, **overrides: str) -> tuple[str, str]:
        """(code, verifier) after a successful sign-in through `team` (`overrides`: more
        authorization parameters, such as `scope`)."""
        verifier, challenge = pkce()
        first = await self.authorize(code_challenge=challenge, **overrides)
        assert first.status_code == 302, first.text
        got, _ = await follow(self.http, first.headers["location"], REDIRECT)
        assert got["state"] == "st-1" and got["iss"] == self.env.issuer
        return got["code"], verifier

    async def token(self, **form: str) -> httpx.Response:
        data = {"client_id": self.client_id, "resource": self.resource, **form}
        return await self.http.post(f"{self.env.issuer}/token", data=data)

    async def exchange(self, code: str, verifier: str) -> httpx.Response:
        return await self.token(
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            redirect_uri=REDIRECT,
        )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.token(grant_type="refresh_token", refresh_token=refresh_token)
