"""Keeping OAuth access tokens fresh for the proxy and tools (SPEC §7), with single flight.
TOKEN_EXCHANGE accounts' tokens are obtained and renewed under the same lease
(`exchange_renewal.py`).

Within a process, one asyncio lock per account queues concurrent callers. Across
processes (replicas on PostgreSQL, several processes on SQLite), a lease on the account
row decides who refreshes: an UPDATE that succeeds only while nobody else holds it
(store/refresh_leases.py). The others poll the row until its `token_version` moves, then
use the new token. So N callers with an expired token cause one token request, however
many processes serve them. Client-credentials accounts get their tokens the same way
(oauth/client_credentials.py).

The refresher answers with the account's new `TokenVersion`; the stored, encrypted token is
the proxy's to load (proxy/resolve.py turns it into a route). OAuth sits below the proxy and
knows nothing of it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from datetime import UTC, datetime
from typing import Any

import aiohttp

from authrelay.accounts.secrets import (
    AccountSecrets,
    decrypt_account_secrets,
    encrypt_account_secrets,
)
from authrelay.accounts.status import not_active
from authrelay.context import Invalidate
from authrelay.errors import NotFound, Unavailable
from authrelay.oauth import client_credentials, exchange_renewal, rfc6749
from authrelay.oauth.token_version import TokenVersion
from authrelay.oauth.tokens import account_values, client_config
from authrelay.providers.catalog import Catalog
from authrelay.providers.service import resolve_provider
from authrelay.store import AsyncSession, async_sessionmaker, refresh_leases
from authrelay.store import accounts as account_store
from authrelay.store import cache as cache_store
from authrelay.store.db import as_utc
from authrelay.store.models import Connection
from authrelay.store.refresh_leases import HeldLease
from authrelay.vault import KeyRing
from authrelay_client.providers.allowlist import UpstreamAllowlist

log = logging.getLogger("authrelay.oauth")
LEASE_SECONDS = 30
POLL_SECONDS = 0.05


class Refresher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: KeyRing,
        catalog: Catalog,
        http: aiohttp.ClientSession,
        invalidate: Invalidate,
        allowlist: UpstreamAllowlist,
    ) -> None:
        self.allowlist = allowlist
        self.sessions = sessions
        self.keyring = keyring
        self.catalog = catalog
        self.http = http
        self.invalidate = invalidate
        self.owner = secrets.token_hex(8)
        # One lock per account while someone holds or waits on it: the map keeps no entry
        # for accounts nobody is renewing (100,000 end users must not leave 100,000 locks).
        self.locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def renew(
        self, account_id: str, version: int, *, exchange: bool = False, rejected: bool = False
    ) -> TokenVersion:
        """The account's token after the one at `version` was found about to expire, or was
        rejected by the upstream (`rejected`): a newer one someone else just obtained, or one
        obtained here under the lease. `exchange`: a TOKEN_EXCHANGE account."""
        lock = self.locks.get(account_id)
        if lock is None:
            lock = self.locks[account_id] = asyncio.Lock()
        async with lock:
            deadline = asyncio.get_running_loop().time() + LEASE_SECONDS + 5
            while asyncio.get_running_loop().time() < deadline:
                async with self.sessions() as session:
                    row = await account_store.by_id(session, account_id)
                    if row is None:
                        raise NotFound("the connected account no longer exists")
                    if row.status != "ACTIVE":
                        raise not_active(row.identifier, row.status)
                    current = row.token_version or 0
                    expires = (
                        as_utc(row.token_expires_at).timestamp() if row.token_expires_at else None
                    )
                    # A token someone else just obtained is taken as long as it has not expired,
                    # even inside the margin (short-lived tokens would loop otherwise).
                    usable = expires is None or expires > datetime.now(UTC).timestamp()
                    if current > version and (usable or rejected):
                        return TokenVersion(current, expires)
                    if await refresh_leases.take_lease(
                        session, row.id, current, self.owner, LEASE_SECONDS
                    ):
                        await session.commit()
                        if exchange:
                            return await exchange_renewal.renew(self, row.id, current)
                        return await self._refresh(row.id, current)
                    await session.rollback()
                await asyncio.sleep(POLL_SECONDS)
        raise Unavailable("timed out waiting for another process to refresh the access token")

    async def store_token(
        self,
        session: AsyncSession,
        account_id: str,
        version: int,
        secrets: AccountSecrets,
        expires_at: float | None,
        details: dict[str, Any],
    ) -> TokenVersion:
        """Store a newly obtained token for the account whose lease we hold at `version`
        (encrypted, a new token version), release the lease and tell the route caches."""
        await refresh_leases.write_token(
            session,
            self.held_lease(account_id, version),
            secret_ct=encrypt_account_secrets(self.keyring, account_id, secrets),
            version=version + 1,
            expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
            details=details,
        )
        moved_to = await cache_store.bump_accounts(session)
        await session.commit()
        self.invalidate(moved_to)
        return TokenVersion(version + 1, expires_at or None)

    async def release(
        self, session: AsyncSession, held: HeldLease, *, expire: bool = False
    ) -> None:
        """Give up the refresh lease `held` (`held_lease`, maybe narrowed) names and commit;
        with `expire`, the account turns EXPIRED as well, and every route cache is told."""
        await refresh_leases.release_lease(session, held, expire=expire)
        moved_to = await cache_store.bump_accounts(session) if expire else None
        await session.commit()
        if expire:
            self.invalidate(moved_to)

    def held_lease(self, account_id: str, version: int) -> HeldLease:
        """The UPDATE that changes the account's row only while this refresher holds its
        lease at `version` (store/refresh_leases.py)."""
        return refresh_leases.lease_held(account_id, version, self.owner)

    async def _refresh(self, account_id: str, version: int) -> TokenVersion:
        async with self.sessions() as session:
            row = await account_store.by_id(session, account_id)
            connection = await session.get(Connection, row.connection_id) if row else None
            if row is None or connection is None:
                raise NotFound("the connected account no longer exists")
            provider = await resolve_provider(
                session, row.environment_id, self.catalog, connection.provider_identifier
            )
            pattern = provider.pattern("OAUTH") if provider else None
            if pattern is not None and client_credentials.is_client_credentials(pattern):
                return await client_credentials.obtain(
                    self, session, row, connection, pattern, version
                )
            refresh_token = decrypt_account_secrets(self.keyring, row.id, row.secret_ct).get(
                "refresh_token"
            )
            try:
                if pattern is None or not refresh_token:
                    raise rfc6749.InvalidGrant("no refresh token is stored for this account")
                client = client_config(
                    connection, pattern, self.keyring, account_values(row), self.allowlist
                )
                tokens = await rfc6749.refresh(self.http, client, refresh_token)
            except rfc6749.InvalidGrant as exc:
                log.info("refresh refused; account expired", extra={"account": account_id})
                await self.release(session, self.held_lease(account_id, version), expire=True)
                raise not_active(row.identifier, "EXPIRED") from exc
            except Exception as exc:
                await self.release(session, self.held_lease(account_id, version))
                detail = (
                    exc.description
                    if isinstance(exc, rfc6749.OAuthFlowError)
                    else type(exc).__name__
                )
                raise Unavailable(f"refreshing the access token failed: {detail}") from None
            secrets: AccountSecrets = {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token or "",
            }
            details = dict(row.details or {})
            if tokens.scopes is not None:
                details["scopes"] = tokens.scopes
            return await self.store_token(
                session, account_id, version, secrets, tokens.expires_at, details
            )
