"""Credential injection (SPEC §8): mutations default → prefix → suffix, then the header."""

from __future__ import annotations

import base64

from authrelay.oauth.exchange import header_value
from authrelay_client.providers.model import AuthPattern, Mutation


def mutate(value: str, mutation: Mutation | None) -> str:
    if mutation is None:
        return value
    if not value and mutation.default is not None:
        value = mutation.default
    return f"{mutation.prefix or ''}{value}{mutation.suffix or ''}"


def credential_header(pattern: AuthPattern, secrets: dict[str, str]) -> tuple[str, str]:
    """(header name, value) carrying the account's credentials upstream."""
    if pattern.token_exchange is not None:  # TOKEN_EXCHANGE: `secrets` holds "token"
        name = pattern.token_exchange.header_name
        return name, header_value(pattern.token_exchange, secrets.get("token", ""), secrets)
    m = pattern.auth_field_mutations
    if pattern.type == "BASIC":
        username = mutate(secrets.get("username", ""), m.username if m else None)
        password = mutate(secrets.get("password", ""), m.password if m else None)
        raw = f"{username}:{password}".encode()
        value = "Basic " + base64.b64encode(raw).decode("ascii")
    elif pattern.type == "API_KEY":
        value = mutate(secrets.get("api_key", ""), m.api_key if m else None)
    else:  # BEARER and OAUTH
        key = "access_token" if pattern.type == "OAUTH" else "token"
        value = "Bearer " + mutate(secrets.get(key, ""), m.token if m else None)
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("a credential contains CR, LF or NUL")
    return pattern.auth_header_key_override or "Authorization", value
