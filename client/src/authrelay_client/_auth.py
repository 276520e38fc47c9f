"""Client credentials → API token, renewed before it expires and after a 401."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import httpx
from typing_extensions import TypedDict

from authrelay_client._exceptions import AuthenticationError, ConfigurationError
from authrelay_client.wire import TokenRequest

RENEW_MARGIN_SECONDS = 60


@dataclass
class Credentials:
    env_url: str
    client_id: str
    client_secret: str

    @classmethod
    def resolve(
        cls, env_url: str | None, client_id: str | None, client_secret: str | None
    ) -> Credentials:
        """Arguments first, then AUTHRELAY_* and SCALEKIT_* environment variables."""

        def pick(value: str | None, *names: str) -> str:
            if value:
                return value
            for name in names:
                if os.environ.get(name):
                    return os.environ[name]
            raise ConfigurationError(
                f"missing {names[0].split('_', 1)[1].lower()}: pass it or set {' or '.join(names)}"
            )

        url = pick(env_url, "AUTHRELAY_ENVIRONMENT_URL", "SCALEKIT_ENVIRONMENT_URL").rstrip("/")
        if not url.lower().startswith(("http://", "https://")):
            raise ConfigurationError(f"environment URL {url!r} must start with http:// or https://")
        return cls(
            url,
            pick(client_id, "AUTHRELAY_CLIENT_ID", "SCALEKIT_CLIENT_ID"),
            pick(client_secret, "AUTHRELAY_CLIENT_SECRET", "SCALEKIT_CLIENT_SECRET"),
        )

    def __repr__(self) -> str:
        return (
            f"Credentials(env_url={self.env_url!r}, client_id={self.client_id!r}, "
            "client_secret='[secure]')"
        )


class TokenCall(TypedDict):
    """Where the token comes from and the form that asks for it."""

    url: str
    data: TokenRequest


class TokenState:
    """Holds the current token; the same logic serves the sync and async clients."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.token: str | None = None
        self.expires_at = 0.0

    def needs_renewal(self) -> bool:
        return self.token is None or time.time() > self.expires_at - RENEW_MARGIN_SECONDS

    def request(self) -> TokenCall:
        c = self.credentials
        return {
            "url": f"{c.env_url}/oauth/token",
            "data": {
                "grant_type": "client_credentials",
                "client_id": c.client_id,
                "client_secret": c.client_secret,
            },
        }

    def accept(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != httpx.codes.OK or "access_token" not in body:
            raise AuthenticationError(
                response.status_code,
                str(body.get("error", "invalid_response")),
                str(body.get("error_description", response.text[:200])),
            )
        self.token = str(body["access_token"])
        self.expires_at = time.time() + float(body.get("expires_in", 3600))
        return self.token

    def forget(self) -> None:
        self.token = None
