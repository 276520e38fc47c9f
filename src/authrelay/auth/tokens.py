"""Issuing and verifying API access tokens (JWT, EdDSA). Verified tokens are cached."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypedDict

from authrelay.auth.jwt_keys import KeySet
from authrelay.errors import Unauthenticated

AUDIENCE = "authrelay-api"
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class TokenClaims:
    environment_id: str
    client_id: str
    jti: str
    expires_at: int


class AccessTokenClaims(TypedDict):
    """What an API access token says (RFC 9068's claims, plus the client and environment)."""

    iss: str
    aud: str
    sub: str
    client_id: str
    env: str
    iat: int
    nbf: int
    exp: int
    jti: str


class TokenService:
    def __init__(self, keys: KeySet, ttl_seconds: int, issuer: str = "authrelay") -> None:
        self.keys = keys
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()

    def issue(self, environment_id: str, client_id: str, jti: str) -> tuple[str, int]:
        now = int(time.time())
        claims: AccessTokenClaims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": client_id,
            "client_id": client_id,
            "env": environment_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": jti,
        }
        return self.keys.sign(claims), self.ttl_seconds

    def verify(self, token: str) -> TokenClaims:
        """Return the claims of a valid token or raise Unauthenticated."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            self._verified.pop(token, None)
            raise Unauthenticated("the access token has expired; request a new one at /oauth/token")
        claims = self._decode(token)
        self._verified[token] = claims
        if len(self._verified) > _CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> TokenClaims:
        data = self.keys.decode(
            token,
            name="access token",
            renew="request a new one at /oauth/token",
            issuer=self.issuer,
            require=["exp", "iat", "jti", "env", "client_id"],
            audience=AUDIENCE,
        )
        if not isinstance(data.get("env"), str) or not isinstance(data.get("client_id"), str):
            raise Unauthenticated("the access token is invalid: bad claims")
        return TokenClaims(data["env"], data["client_id"], str(data["jti"]), int(data["exp"]))
