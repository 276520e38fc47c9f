"""`authrelay keys rotate`: re-encrypt every stored secret under the key ring's primary key.

It walks the one registry of encrypted columns (`store.encrypted.ENCRYPTED_COLUMNS`), so
after a rotation no row needs an older key and old keys can go. Each row is rewritten with
a compare-and-swap on its old ciphertext, so a concurrent change by a running server is
never overwritten; such a row is simply read again. Servers keep running throughout: they
read with every key in the ring and pick up a rotated key file on their next encryption or
on the first ciphertext under a key they do not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from authrelay.store import AsyncSession, async_sessionmaker, encrypted
from authrelay.store.encrypted import ENCRYPTED_COLUMNS, EncryptedColumn
from authrelay.vault.keyring import KeyRing


@dataclass
class RotationReport:
    primary_key: str
    #: table name → rows re-encrypted (every registered table, zeros included)
    reencrypted: dict[str, int] = field(default_factory=dict)
    already_current: int = 0


async def rotate(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> RotationReport:
    """Re-encrypt every registered ciphertext not under the primary key."""
    report = RotationReport(keyring.primary_id)
    for column in ENCRYPTED_COLUMNS:
        async with sessions() as session:
            rows = await encrypted.ciphertexts(session, column)
        done = 0
        for key, ciphertext in rows:
            if await _reencrypt(sessions, keyring, column, key, ciphertext):
                done += 1
            else:
                report.already_current += 1
        report.reencrypted[column.table] = done
    return report


async def _reencrypt(
    sessions: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    column: EncryptedColumn,
    key: str,
    ciphertext: str | None,
) -> bool:
    """Rewrite one row under the primary key; False when it no longer needs it (deleted, or
    rewritten under the primary key by a running server meanwhile)."""
    context = column.context(key)
    while ciphertext is not None and keyring.key_id_of(ciphertext) != keyring.primary_id:
        fresh = keyring.encrypt(keyring.decrypt(ciphertext, context), context)
        async with sessions() as session:
            if await encrypted.swap_ciphertext(session, column, key, ciphertext, fresh):
                return True
            ciphertext = await encrypted.ciphertext_of(session, column, key)  # changed: again
    return False
