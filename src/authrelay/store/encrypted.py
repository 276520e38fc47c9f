"""Every column that holds a vault ciphertext, declared once, with the SQL that key rotation
needs (`authrelay.keyrotation` walks this registry).

Each ciphertext is bound to its row by associated data (the vault's *context*,
`vault.contexts`, the one definition that writers, readers and rotation share), so a
ciphertext cannot be moved to another row or column. A new encrypted column is added to
`ENCRYPTED_COLUMNS`, or tests/vault fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from authrelay.store.models import (
    AuthFlow,
    ConnectedAccount,
    Connection,
    McpInstance,
    McpOAuthRequest,
    McpOAuthSettings,
    SigningKey,
)
from authrelay.vault.contexts import (
    account_context,
    connection_context,
    flow_context,
    handoff_context,
    mcp_instance_context,
    oidc_client_context,
    oidc_request_context,
    signing_key_context,
)


@dataclass(frozen=True)
class EncryptedColumn:
    """One ciphertext column: its table, the column that names a row, and the context
    (associated data) its ciphertexts are sealed with, formed from that key."""

    model: Any
    key: InstrumentedAttribute[str]
    ciphertext: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
    context: Callable[[str], str]

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(SigningKey, SigningKey.kid, SigningKey.private_key_ct, signing_key_context),
    EncryptedColumn(Connection, Connection.id, Connection.secret_ct, connection_context),
    EncryptedColumn(
        ConnectedAccount, ConnectedAccount.id, ConnectedAccount.secret_ct, account_context
    ),
    EncryptedColumn(AuthFlow, AuthFlow.id, AuthFlow.secret_ct, flow_context),
    EncryptedColumn(McpInstance, McpInstance.id, McpInstance.secret_ct, mcp_instance_context),
    EncryptedColumn(
        McpOAuthSettings,
        McpOAuthSettings.environment_id,
        McpOAuthSettings.handoff_secret_ct,
        handoff_context,
    ),
    EncryptedColumn(
        McpOAuthSettings,
        McpOAuthSettings.environment_id,
        McpOAuthSettings.oidc_client_secret_ct,
        oidc_client_context,
    ),
    EncryptedColumn(
        McpOAuthRequest, McpOAuthRequest.id, McpOAuthRequest.oidc_ct, oidc_request_context
    ),
)


async def ciphertexts(session: AsyncSession, column: EncryptedColumn) -> list[tuple[str, str]]:
    """(row key, ciphertext) of every row whose column holds one."""
    rows = await session.execute(
        select(column.key, column.ciphertext).where(column.ciphertext.is_not(None))
    )
    return [(str(key), str(ct)) for key, ct in rows]


async def ciphertext_of(session: AsyncSession, column: EncryptedColumn, key: str) -> str | None:
    """The row's current ciphertext (None: the row or its secret is gone)."""
    return await session.scalar(select(column.ciphertext).where(column.key == key))


async def swap_ciphertext(
    session: AsyncSession, column: EncryptedColumn, key: str, old: str, new: str
) -> bool:
    """Replace `old` by `new` if the row still holds `old` (compare-and-swap); committed."""
    result = await session.execute(
        update(column.model)
        .where(column.key == key, column.ciphertext == old)
        .values({column.ciphertext.key: new})
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
