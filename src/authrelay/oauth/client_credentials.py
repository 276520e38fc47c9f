"""The OAuth client-credentials grant (SPEC §3a): accounts hold the pattern's `fields`
(a static-style form, or `static_auth.details`); the access token is fetched on first use
and renewed before expiry or after a 401 by the proxy's refresher, under the same lease
(oauth/refresh.py), so N concurrent callers cause one token request.

What an account stores (encrypted, one blob): ``{"values": {...}, "path_variables": {...},
"access_token": "...", "refresh_token": ""}``. Its public `details` are ``{"scopes",
"domain", "fields"}`` (`fields`: the non-secret inputs).

The client id and secret are the account's `client_id` / `client_secret` fields when the
pattern declares them, else the connection's `oauth_config` ones. When the token endpoint
refuses (an OAuth error such as `invalid_client`), the error names its answer; an account
whose own credentials were refused becomes EXPIRED (new credentials make it ACTIVE again).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from authrelay.accounts.secrets import AccountSecrets, decrypt_account_secrets
from authrelay.errors import FailedPrecondition, Unavailable
from authrelay.oauth import rfc6749
from authrelay.oauth.params import token_params
from authrelay.oauth.token_version import TokenVersion
from authrelay.oauth.tokens import fill
from authrelay.providers.grants import CLIENT_FIELDS, uses_client_credentials
from authrelay.store import AsyncSession
from authrelay.store.models import ConnectedAccount, Connection
from authrelay.vault import KeyRing
from authrelay.vault.contexts import connection_context
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.model import AuthPattern

if TYPE_CHECKING:
    from authrelay.oauth.refresh import Refresher

log = logging.getLogger("authrelay.oauth")

# OAuth error codes meaning "these client credentials (or this request) will not work as
# they are": retrying cannot help, the user or the team must change something.
REFUSED = frozenset(
    {
        "invalid_client",
        "unauthorized_client",
        "invalid_grant",
        "invalid_scope",
        "invalid_request",
        "access_denied",
        "unsupported_grant_type",
        "invalid_target",
    }
)
_MAX_DETAIL = 300


is_client_credentials = uses_client_credentials


def account_brings_client(pattern: AuthPattern) -> bool:
    """True when each account holds its own client id and secret (the pattern declares both
    fields); else the connection's OAuth client is used."""
    names = {f.field_name for f in pattern.fields}
    return all(name in names for name in CLIENT_FIELDS)


def stored_inputs(stored: AccountSecrets) -> dict[str, str]:
    """The account's field values for placeholders (path variables win, as for static
    patterns)."""
    values = stored.get("values") or {}
    paths = stored.get("path_variables") or {}
    return {k: v for k, v in {**values, **paths}.items() if isinstance(v, str)}


def client_for(
    connection: Connection,
    pattern: AuthPattern,
    keyring: KeyRing,
    values: dict[str, str],
    allowlist: UpstreamAllowlist,
) -> rfc6749.ClientConfig:
    oauth = pattern.oauth_config
    assert oauth is not None and oauth.token_uri is not None
    if account_brings_client(pattern):
        client_id, client_secret = values.get("client_id", ""), values.get("client_secret", "")
        if not client_id or not client_secret:
            raise FailedPrecondition(
                "the connected account has no client_id and client_secret; update it with "
                "static_auth.details"
            )
    else:
        client_id = str(connection.config.get("client_id") or "")
        if not client_id or not connection.secret_ct:
            raise FailedPrecondition(
                f"connection {connection.name!r} has no OAuth client id and secret yet; set "
                "oauth_config.client_id and client_secret on the connection"
            )
        client_secret = keyring.decrypt(connection.secret_ct, connection_context(connection.id))
    return rfc6749.ClientConfig(
        client_id=client_id,
        client_secret=client_secret,
        token_uri=fill(oauth.token_uri, values, allowlist),
        auth_method=connection.config.get("token_endpoint_auth_method", oauth.token_auth_method),
        params=token_params(pattern, values),
    )


def _answer(exc: rfc6749.OAuthFlowError) -> str:
    """The token endpoint's answer as one short line (rfc6749 blanked the secrets out)."""
    text = " ".join(exc.description.split())[:_MAX_DETAIL]
    return f"{exc.error}: {text}" if text and text != exc.error else exc.error


async def obtain(
    refresher: Refresher,
    session: AsyncSession,
    row: ConnectedAccount,
    connection: Connection,
    pattern: AuthPattern,
    version: int,
) -> TokenVersion:
    """Fetch a token for `row` (whose lease `refresher` holds at `version`) and store it;
    raises FailedPrecondition / Unavailable naming the token endpoint's answer otherwise.
    The lease is released either way."""
    oauth = pattern.oauth_config
    assert oauth is not None
    keyring = refresher.keyring
    stored = decrypt_account_secrets(keyring, row.id, row.secret_ct)
    values = stored_inputs(stored)
    own_client = account_brings_client(pattern)
    release = refresher.held_lease(row.id, version)
    try:
        client = client_for(connection, pattern, keyring, values, refresher.allowlist)
        tokens = await rfc6749.client_credentials(
            refresher.http,
            client,
            scopes=list(connection.config.get("scopes") or []),
            scope_param=connection.config.get("custom_scope_name")
            or oauth.custom_scope_name
            or "scope",
            scope_separator=oauth.scope_separator or " ",
        )
    except rfc6749.OAuthFlowError as exc:
        answer = _answer(exc)
        refused = exc.error in REFUSED
        expire = refused and own_client
        log.info(
            "client-credentials token request failed",
            extra={"account": row.id, "error": exc.error, "expired": expire},
        )
        await refresher.release(session, release, expire=expire)
        if expire:
            raise FailedPrecondition(
                f"the token endpoint refused the connected account's client credentials "
                f"({answer}); the account for {row.identifier!r} is now EXPIRED: update its "
                "client_id and client_secret (PUT /api/v1/connected_accounts) or send the user "
                "a new authorization link"
            ) from None
        if refused:
            raise FailedPrecondition(
                f"the token endpoint refused the client credentials of connection "
                f"{connection.name!r} ({answer}); check the connection's oauth_config "
                "(client_id, client_secret, scopes) and the provider's token_params"
            ) from None
        raise Unavailable(f"getting an access token failed: {answer}") from None
    except Exception:
        await refresher.release(session, release)
        raise
    secrets: AccountSecrets = {**stored, "access_token": tokens.access_token, "refresh_token": ""}
    details = dict(row.details or {})
    details["scopes"] = (
        tokens.scopes if tokens.scopes is not None else list(connection.config.get("scopes") or [])
    )
    return await refresher.store_token(
        session, row.id, version, secrets, tokens.expires_at, details
    )
