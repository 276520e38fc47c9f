"""Obtaining and renewing a TOKEN_EXCHANGE account's token under the refresh lease.

The Refresher (refresh.py) decides when and who: one caller per account across processes
holds the lease on the account row. This module does the work once the lease is held: run
the exchange, store the token encrypted beside the account's values (`"exchange"` in the
same vault blob), move `token_version` and `token_expires_at`, release the lease. When the
endpoint refuses the credentials the account becomes EXPIRED (its user must give new ones);
other failures leave it as it was.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from authrelay.accounts.secrets import (
    AccountSecrets,
    decrypt_account_secrets,
    encrypt_account_secrets,
)
from authrelay.errors import FailedPrecondition, NotFound, Unavailable
from authrelay.oauth.exchange import ExchangeError, ExchangeRefused, exchange
from authrelay.oauth.token_version import TokenVersion
from authrelay.providers.service import resolve_provider
from authrelay.store import accounts as account_store
from authrelay.store import cache as cache_store
from authrelay.store.db import utcnow
from authrelay.store.models import ConnectedAccount, Connection

if TYPE_CHECKING:
    from authrelay.oauth.refresh import Refresher

log = logging.getLogger("authrelay.oauth")


def stored_values(stored: AccountSecrets) -> dict[str, str]:
    """The account's field values as templates see them (path variables win)."""
    return {**stored.get("values", {}), **stored.get("path_variables", {})}


def stored_token(stored: AccountSecrets) -> str:
    exchanged = stored.get("exchange")
    token = exchanged.get("token") if isinstance(exchanged, dict) else None
    return token if isinstance(token, str) else ""


async def renew(refresher: Refresher, account_id: str, version: int) -> TokenVersion:
    """Exchange the account's fields for a token (the caller holds the lease at `version`),
    store it and return its version."""
    r = refresher
    async with r.sessions() as session:
        row = await account_store.by_id(session, account_id)
        connection = await session.get(Connection, row.connection_id) if row else None
        if row is None or connection is None or not row.secret_ct:
            raise NotFound("the connected account no longer exists")
        provider = await resolve_provider(
            session, row.environment_id, r.catalog, connection.provider_identifier
        )
        pattern = provider.pattern("TOKEN_EXCHANGE") if provider else None
        old_ct = row.secret_ct
        stored = decrypt_account_secrets(r.keyring, row.id, old_ct)
        # Only while the credentials are the ones exchanged (an update may land meanwhile).
        ours = r.held_lease(account_id, version).where(ConnectedAccount.secret_ct == old_ct)
        try:
            if pattern is None or pattern.token_exchange is None:
                raise FailedPrecondition(
                    f"connection {connection.name!r}'s provider has no TOKEN_EXCHANGE pattern"
                )
            got = await exchange(r.http, pattern.token_exchange, stored_values(stored), r.allowlist)
        except ExchangeRefused as exc:
            log.info("token exchange refused; account expired", extra={"account": account_id})
            await r.release(session, ours, expire=True)
            raise FailedPrecondition(
                f"{exc}. The connected account for {row.identifier!r} is now EXPIRED: give it "
                "new credentials (update the connected account, or send the user a new "
                "authorization link)"
            ) from None
        except (ExchangeError, FailedPrecondition) as exc:
            await r.release(session, ours)
            if isinstance(exc, FailedPrecondition):
                raise
            raise Unavailable(f"exchanging the credentials for a token failed: {exc}") from None
        except BaseException:
            await r.release(session, ours)
            raise
        stored["exchange"] = {"token": got.token}
        result = await session.execute(
            ours.values(
                secret_ct=encrypt_account_secrets(r.keyring, account_id, stored),
                token_version=version + 1,
                token_expires_at=datetime.fromtimestamp(got.expires_at, UTC)
                if got.expires_at
                else None,
                updated_at=utcnow(),
                refresh_lease_owner=None,
                refresh_lease_until=None,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            # The credentials changed (or the lease was lost) meanwhile: this token is for
            # the old ones. Nothing is stored; the caller may simply try again.
            await session.rollback()
            await r.release(session, r.held_lease(account_id, version))
            raise Unavailable("the connected account changed during the token exchange; retry")
        moved_to = await cache_store.bump_accounts(session)
        await session.commit()
        r.invalidate(moved_to)
    return TokenVersion(version + 1, got.expires_at or None)
