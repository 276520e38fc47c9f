"""Ed25519 signing keys for API and MCP tokens, published as a JWKS at ``GET /keys``, and the
one check of a token they signed (`KeySet.decode`)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from jwt.algorithms import OKPAlgorithm
from jwt.types import Options

from authrelay.errors import Unauthenticated
from authrelay_client.wire import JSONObject

ALGORITHM = "EdDSA"


@dataclass
class SigningKeyMaterial:
    kid: str
    private_pem: str
    public_jwk: JSONObject


def generate_signing_key() -> SigningKeyMaterial:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    kid = "key_" + secrets.token_hex(8)
    jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return SigningKeyMaterial(kid=kid, private_pem=pem, public_jwk=jwk)


@dataclass
class KeySet:
    """The active signing key and every public key tokens may be verified with."""

    signing_kid: str
    signing_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    jwks: list[JSONObject] = field(default_factory=list)

    @classmethod
    def build(cls, active: SigningKeyMaterial, published: list[JSONObject]) -> KeySet:
        private = load_pem_private_key(active.private_pem.encode(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("signing key is not Ed25519")
        public: dict[str, Ed25519PublicKey] = {}
        for jwk in published:
            key = OKPAlgorithm.from_jwk(json.dumps(jwk))
            if isinstance(key, Ed25519PublicKey):
                public[jwk["kid"]] = key
        return cls(active.kid, private, public, published)

    def sign(self, claims: Mapping[str, object]) -> str:
        return jwt.encode(
            dict(claims), self.signing_key, algorithm=ALGORITHM, headers={"kid": self.signing_kid}
        )

    def decode(
        self,
        token: str,
        *,
        name: str,
        renew: str,
        issuer: str,
        require: list[str],
        audience: str | None = None,
    ) -> dict[str, Any]:
        """The claims of `token` (an "access token", an "MCP token") when one of these keys
        signed it, it holds the `require`d claims and has not expired (nor, given `audience`,
        is for another); else Unauthenticated saying what is wrong, and on expiry how to
        `renew` it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the {name} is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"the {name} is not signed with an accepted algorithm")
        key = self.public_keys.get(str(header.get("kid")))
        if key is None:
            raise Unauthenticated(f"the {name} was signed by an unknown key")
        options: Options = {"require": require, "verify_aud": audience is not None}
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, [ALGORITHM], options, audience=audience, issuer=issuer
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated(f"the {name} has expired; {renew}") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the {name} is invalid: {exc}") from exc
        return claims
