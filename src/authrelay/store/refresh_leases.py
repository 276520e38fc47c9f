"""The refresh lease on a connected account's row: the statements behind the OAuth
refresher's single flight (oauth/refresh.py). A lease is taken by an UPDATE that succeeds
only while nobody holds it at the row's `token_version`; what the holder then writes (the
new token, or only the lease's release) is an UPDATE narrowed to rows it still holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.db import utcnow
from authrelay.store.models import ConnectedAccount

# The UPDATE that proves a lease is still ours; the refresher holds it between steps.
HeldLease = Update


async def take_lease(
    session: AsyncSession, account_id: str, version: int, owner: str, seconds: float
) -> bool:
    """Whether `owner` now holds the account's lease for `seconds`: only while the row is
    still at `version` and nobody else holds an unexpired lease (the caller commits)."""
    now = utcnow()
    result = await session.execute(
        update(ConnectedAccount)
        .where(
            ConnectedAccount.id == account_id,
            ConnectedAccount.token_version == version,
            or_(
                ConnectedAccount.refresh_lease_until.is_(None),
                ConnectedAccount.refresh_lease_until < now,
            ),
        )
        .values(
            refresh_lease_owner=owner,
            refresh_lease_until=now + timedelta(seconds=seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lease_held(account_id: str, version: int, owner: str) -> Update:
    """An UPDATE of the account's row that changes it only while `owner` holds its lease at
    `version`; callers may narrow it further and add the values."""
    return (
        update(ConnectedAccount)
        .where(
            ConnectedAccount.id == account_id,
            ConnectedAccount.token_version == version,
            ConnectedAccount.refresh_lease_owner == owner,
        )
        .execution_options(synchronize_session=False)
    )


async def write_token(
    session: AsyncSession,
    held: Update,
    *,
    secret_ct: str,
    version: int,
    expires_at: datetime | None,
    details: dict[str, Any],
) -> None:
    """Store a newly obtained token (already encrypted) at `version` and release the lease,
    through `held` (see `lease_held`); the caller commits."""
    await session.execute(
        held.values(
            secret_ct=secret_ct,
            token_version=version,
            token_expires_at=expires_at,
            details=details,
            refresh_lease_owner=None,
            refresh_lease_until=None,
            updated_at=utcnow(),
        )
    )


async def release_lease(session: AsyncSession, held: Update, *, expire: bool = False) -> None:
    """Give up the lease `held` names; with `expire`, the account turns EXPIRED as well
    (the caller commits)."""
    changes: dict[str, Any] = {"refresh_lease_owner": None, "refresh_lease_until": None}
    if expire:
        changes.update(status="EXPIRED", updated_at=utcnow())
    await session.execute(held.values(**changes))
