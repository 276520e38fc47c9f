"""Ed25519 signing keys for API tokens, published as a JWKS at ``GET /keys``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from jwt.algorithms import OKPAlgorithm

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
