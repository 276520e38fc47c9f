"""Client secrets: generated with 256 bits of entropy, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets


def new_client_id() -> str:
    return "arc_" + _secrets.token_hex(12)


def new_client_secret() -> str:
    return "ars_" + _secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # The secret is random and long, so a fast hash is safe (no dictionary to attack);
    # "sha256:" leaves room for other schemes later.
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret: str, stored: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored)
