"""The API token signing key: made on first start and sealed by the vault before the store
keeps it (`store.environments` only persists); read back at every start."""

from __future__ import annotations

from authrelay.auth.jwt_keys import SigningKeyMaterial, generate_signing_key
from authrelay.store import AsyncSession, async_sessionmaker
from authrelay.store import environments as envs
from authrelay.vault import KeyRing
from authrelay.vault.contexts import signing_key_context


async def ensure_signing_key(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> None:
    """Make an active signing key if there is none."""
    async with sessions() as session, session.begin():
        if not await envs.has_active_signing_key(session):
            material = generate_signing_key()
            sealed = keyring.encrypt(material.private_pem, signing_key_context(material.kid))
            envs.add_signing_key(session, material.kid, sealed, material.public_jwk)


async def load_signing_keys(
    session: AsyncSession, keyring: KeyRing
) -> tuple[SigningKeyMaterial, list[dict[str, object]]]:
    """The newest active key (decrypted) and every key's public JWK."""
    rows = await envs.signing_keys(session)
    active = [r for r in rows if r.active]
    if not active:
        raise LookupError("no signing key")
    row = active[-1]
    pem = keyring.decrypt(row.private_key_ct, signing_key_context(row.kid))
    return SigningKeyMaterial(row.kid, pem, row.public_jwk), [r.public_jwk for r in rows]
