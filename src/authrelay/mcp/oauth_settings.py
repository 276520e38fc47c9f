"""Per-environment MCP sign-in settings (`authrelay env login`): the team's login hand-off
URL and its secret (encrypted at rest, shown once), and which client registrations are open.
Defaults, for an environment never configured: no sign-in (the authorization endpoint
refuses), dynamic registration on, client ID metadata documents on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from authrelay.errors import InvalidArgument
from authrelay.store import AsyncSession
from authrelay.store import mcp_oauth as store
from authrelay.store.models import McpOAuthSettings
from authrelay.vault import KeyRing
from authrelay.vault.contexts import handoff_context


@dataclass(frozen=True)
class SignIn:
    """An environment's settings as the authorization server uses them."""

    handoff_url: str
    handoff_secret: str  # empty when no hand-off is configured
    dcr_enabled: bool
    cimd_enabled: bool


DEFAULT = SignIn("", "", dcr_enabled=True, cimd_enabled=True)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise InvalidArgument.field("handoff_url", "must be an http(s) URL without a fragment")


async def load(session: AsyncSession, keyring: KeyRing, env_id: str) -> SignIn:
    row = await store.settings(session, env_id)
    if row is None:
        return DEFAULT
    secret = ""
    if row.handoff_secret_ct:
        secret = keyring.decrypt(row.handoff_secret_ct, handoff_context(env_id))
    return SignIn(row.handoff_url or "", secret, row.dcr_enabled, row.cimd_enabled)


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


async def set_handoff(session: AsyncSession, keyring: KeyRing, env_id: str, url: str) -> str:
    """Set the hand-off URL with a new secret; the secret is returned (shown once)."""
    _check_url(url)
    secret = secrets.token_urlsafe(32)
    row = await _row(session, env_id)
    row.handoff_url = url
    row.handoff_secret_ct = keyring.encrypt(secret, handoff_context(env_id))
    row.updated_at = datetime.now(UTC)
    await session.commit()
    return secret


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
