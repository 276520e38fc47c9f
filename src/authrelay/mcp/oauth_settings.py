"""Per-environment MCP sign-in settings (`authrelay env login`): either the team's login
hand-off (URL, secret encrypted at rest and shown once, optionally the app's JWKS URL for
JWT assertions) or an OpenID Connect provider (issuer, client id, client secret encrypted at
rest, the claim naming the user), and which client registrations are open. Defaults, for an
environment never configured: no sign-in (the authorization endpoint refuses), dynamic
registration on, client ID metadata documents on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from authrelay.errors import InvalidArgument
from authrelay.store import AsyncSession
from authrelay.store import mcp_oauth as store
from authrelay.store.models import McpOAuthSettings
from authrelay.vault import KeyRing
from authrelay.vault.contexts import handoff_context, oidc_client_context

DEFAULT_IDENTIFIER_CLAIM = "email"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class SignIn:
    """An environment's settings as the authorization server uses them."""

    handoff_url: str
    handoff_secret: str  # empty when no hand-off is configured
    dcr_enabled: bool
    cimd_enabled: bool
    handoff_jwks_url: str = ""  # empty: HMAC assertions only
    oidc_issuer: str = ""  # set: users sign in with this OpenID Connect provider
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    identifier_claim: str = DEFAULT_IDENTIFIER_CLAIM

    @property
    def method(self) -> str:
        """`oidc`, `handoff`, or empty when no sign-in is configured."""
        if self.oidc_issuer:
            return "oidc"
        return "handoff" if self.handoff_secret else ""


DEFAULT = SignIn("", "", dcr_enabled=True, cimd_enabled=True)


def _check_url(url: str, field: str = "handoff_url") -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise InvalidArgument.field(field, "must be an http(s) URL without a fragment")


def _check_fetched_url(url: str, field: str) -> None:
    """A URL authrelay itself fetches keys or metadata from: https (http on loopback only,
    for development), without query or fragment."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise InvalidArgument.field(
            field, "must be an https URL (http only on a loopback host), without query"
        )


async def load(session: AsyncSession, keyring: KeyRing, env_id: str) -> SignIn:
    row = await store.settings(session, env_id)
    if row is None:
        return DEFAULT
    secret = ""
    if row.handoff_secret_ct:
        secret = keyring.decrypt(row.handoff_secret_ct, handoff_context(env_id))
    oidc_secret = ""
    if row.oidc_client_secret_ct:
        oidc_secret = keyring.decrypt(row.oidc_client_secret_ct, oidc_client_context(env_id))
    return SignIn(
        row.handoff_url or "",
        secret,
        row.dcr_enabled,
        row.cimd_enabled,
        handoff_jwks_url=row.handoff_jwks_url or "",
        oidc_issuer=row.oidc_issuer or "",
        oidc_client_id=row.oidc_client_id or "",
        oidc_client_secret=oidc_secret,
        identifier_claim=row.oidc_identifier_claim or DEFAULT_IDENTIFIER_CLAIM,
    )


async def registration(session: AsyncSession, env_id: str) -> SignIn | None:
    """What metadata and registration need, in one query and without decrypting anything:
    the environment's registration switches (sign-in fields left empty); None when there is
    no environment `env_id`."""
    flags = await store.registration_flags(session, env_id)
    if flags is None:
        return None
    dcr, cimd = flags
    return SignIn(
        "",
        "",
        DEFAULT.dcr_enabled if dcr is None else dcr,
        DEFAULT.cimd_enabled if cimd is None else cimd,
    )


async def _row(session: AsyncSession, env_id: str) -> McpOAuthSettings:
    row = await store.settings(session, env_id)
    if row is None:
        row = McpOAuthSettings(
            environment_id=env_id,
            dcr_enabled=DEFAULT.dcr_enabled,
            cimd_enabled=DEFAULT.cimd_enabled,
            updated_at=datetime.now(UTC),
        )
        session.add(row)
    return row


def _clear_oidc(row: McpOAuthSettings) -> None:
    row.oidc_issuer = row.oidc_client_id = row.oidc_client_secret_ct = None
    row.oidc_identifier_claim = None


def shown(sign_in: SignIn, oidc_redirect_uri: str) -> dict[str, Any]:
    """The settings as `authrelay env login --json` and the dashboard show them: never a
    secret; `oidc_redirect_uri` is what to register at the provider."""
    return {
        "sign_in": sign_in.method or None,
        "handoff_url": sign_in.handoff_url or None,
        "handoff_jwks_url": sign_in.handoff_jwks_url or None,
        "oidc_issuer": sign_in.oidc_issuer or None,
        "oidc_client_id": sign_in.oidc_client_id or None,
        "identifier_claim": sign_in.identifier_claim if sign_in.oidc_issuer else None,
        "oidc_redirect_uri": oidc_redirect_uri,
        "dynamic_client_registration": sign_in.dcr_enabled,
        "client_id_metadata_documents": sign_in.cimd_enabled,
    }


async def set_handoff(
    session: AsyncSession, keyring: KeyRing, env_id: str, url: str, jwks_url: str | None = None
) -> str:
    """Set the hand-off URL with a new secret (replacing an OpenID Connect provider), and
    with `jwks_url` not None the JWKS URL too (as `set_handoff_jwks`), both checked before
    anything is written; the secret is returned (shown once)."""
    _check_url(url)
    if jwks_url:
        _check_fetched_url(jwks_url, "handoff_jwks_url")
    secret = secrets.token_urlsafe(32)
    row = await _row(session, env_id)
    row.handoff_url = url
    row.handoff_secret_ct = keyring.encrypt(secret, handoff_context(env_id))
    if jwks_url is not None:
        row.handoff_jwks_url = jwks_url or None
    _clear_oidc(row)
    row.updated_at = datetime.now(UTC)
    await session.commit()
    return secret


async def set_handoff_jwks(session: AsyncSession, env_id: str, url: str) -> None:
    """Accept hand-off assertions that are JWTs signed with a key of the app's JWKS at `url`
    (besides HMAC ones); an empty `url` turns that off."""
    if url:
        _check_fetched_url(url, "handoff_jwks_url")
    row = await _row(session, env_id)
    row.handoff_jwks_url = url or None
    row.updated_at = datetime.now(UTC)
    await session.commit()


async def set_oidc(
    session: AsyncSession,
    keyring: KeyRing,
    env_id: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    identifier_claim: str | None,
) -> None:
    """Sign users in with the OpenID Connect provider `issuer` (replacing the hand-off).
    `client_secret` None keeps the stored one; `identifier_claim` None keeps it (or `email`)."""
    _check_fetched_url(issuer, "oidc_issuer")
    if not client_id:
        raise InvalidArgument.field("oidc_client_id", "is required with an OIDC issuer")
    row = await _row(session, env_id)
    if client_secret is not None:
        if not client_secret:
            raise InvalidArgument.field("oidc_client_secret", "must not be empty")
        row.oidc_client_secret_ct = keyring.encrypt(client_secret, oidc_client_context(env_id))
    elif not row.oidc_client_secret_ct:
        raise InvalidArgument.field("oidc_client_secret", "is required (none is stored yet)")
    claim = identifier_claim or row.oidc_identifier_claim or DEFAULT_IDENTIFIER_CLAIM
    if not claim.replace("_", "").isalnum() or len(claim) > 64:
        raise InvalidArgument.field("identifier_claim", "must be a claim name such as email")
    row.oidc_issuer = issuer
    row.oidc_client_id = client_id
    row.oidc_identifier_claim = claim
    row.handoff_url = row.handoff_secret_ct = row.handoff_jwks_url = None
    row.updated_at = datetime.now(UTC)
    await session.commit()


async def set_registration(
    session: AsyncSession, env_id: str, *, dcr: bool | None, cimd: bool | None
) -> None:
    """Open or close dynamic registration and client ID metadata documents."""
    row = await _row(session, env_id)
    if dcr is not None:
        row.dcr_enabled = dcr
    if cimd is not None:
        row.cimd_enabled = cimd
    row.updated_at = datetime.now(UTC)
    await session.commit()
