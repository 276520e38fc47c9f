"""Storing OAuth tokens on a connected account (after a callback, a verification, a
refresh) and reading the client configuration a token request needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from authrelay.accounts.credentials import oauth_placeholder_values
from authrelay.accounts.secrets import AccountSecrets, encrypt_account_secrets
from authrelay.errors import FailedPrecondition
from authrelay.oauth.params import token_params
from authrelay.oauth.rfc6749 import ClientConfig, TokenSet
from authrelay.store.db import utcnow
from authrelay.store.models import ConnectedAccount, Connection
from authrelay.vault import KeyRing
from authrelay.vault.contexts import connection_context
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.model import AuthPattern
from authrelay_client.providers.urls import fill_placeholders
from authrelay_client.wire import JSONObject


def fill(template: str, values: dict[str, str], allowlist: UpstreamAllowlist | None = None) -> str:
    """An OAuth endpoint with the account's placeholders filled (values checked; a filled
    host over http:// must be in `allowlist`)."""
    try:
        return fill_placeholders(template, values, allowlist)
    except ValueError as exc:
        raise FailedPrecondition(str(exc)) from None


def account_values(row: ConnectedAccount) -> dict[str, str]:
    return oauth_placeholder_values(row.api_config or {})


def client_config(
    connection: Connection,
    pattern: AuthPattern,
    keyring: KeyRing,
    values: dict[str, str],
    allowlist: UpstreamAllowlist | None = None,
) -> ClientConfig:
    oauth = pattern.oauth_config
    client_id = connection.config.get("client_id")
    if oauth is None or not oauth.token_uri or not client_id or not connection.secret_ct:
        raise FailedPrecondition(
            f"connection {connection.name!r} has no OAuth client id and secret yet; set "
            "oauth_config.client_id and client_secret on the connection"
        )
    return ClientConfig(
        client_id=client_id,
        client_secret=keyring.decrypt(connection.secret_ct, connection_context(connection.id)),
        token_uri=fill(oauth.token_uri, values, allowlist),
        auth_method=connection.config.get("token_endpoint_auth_method", oauth.token_auth_method),
        params=token_params(pattern, values),
    )


def apply_tokens(
    row: ConnectedAccount,
    tokens: TokenSet,
    keyring: KeyRing,
    *,
    requested_scopes: list[str] | None = None,
    user_info: JSONObject | None = None,
) -> None:
    secrets: AccountSecrets = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token or "",
    }
    row.secret_ct = encrypt_account_secrets(keyring, row.id, secrets)
    row.token_expires_at = (
        datetime.fromtimestamp(tokens.expires_at, UTC) if tokens.expires_at else None
    )
    details = dict(row.details or {})
    if tokens.scopes is not None or requested_scopes is not None:
        details["scopes"] = tokens.scopes if tokens.scopes is not None else requested_scopes
    details.setdefault("domain", "")
    if user_info is not None:
        details["user_info"] = user_info
    row.details = details
    row.token_version = (row.token_version or 0) + 1
    row.status = "ACTIVE"
    row.updated_at = utcnow()


def public_user_info(info: JSONObject | None) -> JSONObject | None:
    """What of the user-info answer is kept: small, and nothing token-like."""
    if info is None:
        return None
    kept = {
        k: v
        for k, v in info.items()
        if isinstance(v, str | int | float | bool | type(None))
        and not any(s in k.lower() for s in ("token", "secret", "password", "key"))
    }
    return kept if len(json.dumps(kept)) <= 16384 else {"truncated": True}
