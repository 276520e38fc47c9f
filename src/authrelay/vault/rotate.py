"""`authrelay keys rotate`: re-encrypt every stored secret under the primary key.

Each row is rewritten with a compare-and-swap on its old ciphertext, so a concurrent change
by a running server is never overwritten; such a row is simply read again. Servers keep
running throughout: they read with every key in the ring and pick up a rotated key file on
their next encryption or on the first ciphertext under a key they do not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authrelay.accounts.service import secret_context as account_context
from authrelay.connections.service import secret_context as connection_context
from authrelay.store.environments import SIGNING_KEY_CONTEXT
from authrelay.store.models import ConnectedAccount, Connection, SigningKey
from authrelay.vault.keyring import KeyRing


@dataclass
class RotationReport:
    primary_key: str
    reencrypted: dict[str, int] = field(default_factory=dict)
    already_current: int = 0


_TABLES: list[tuple[Any, Any, Any, Callable[[Any], str]]] = [
    (SigningKey, SigningKey.kid, SigningKey.private_key_ct, lambda k: SIGNING_KEY_CONTEXT + k),
    (Connection, Connection.id, Connection.secret_ct, connection_context),
    (ConnectedAccount, ConnectedAccount.id, ConnectedAccount.secret_ct, account_context),
]


async def rotate(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> RotationReport:
    report = RotationReport(keyring.primary_id)
    for model, key_col, ct_col, context_of in _TABLES:
        done = 0
        async with sessions() as session:
            rows = (await session.execute(select(key_col, ct_col).where(ct_col.is_not(None)))).all()
        for row_key, ciphertext in rows:
            while ciphertext is not None and keyring.key_id_of(ciphertext) != keyring.primary_id:
                fresh = keyring.encrypt(
                    keyring.decrypt(ciphertext, context_of(row_key)), context_of(row_key)
                )
                async with sessions() as session:
                    result = await session.execute(
                        update(model)
                        .where(key_col == row_key, ct_col == ciphertext)
                        .values({ct_col.key: fresh})
                    )
                    await session.commit()
                if result.rowcount:  # type: ignore[attr-defined]
                    done += 1
                    break
                async with sessions() as session:  # changed meanwhile: read it again
                    ciphertext = await session.scalar(select(ct_col).where(key_col == row_key))
            else:
                report.already_current += 1
        report.reencrypted[model.__tablename__] = done
    return report
