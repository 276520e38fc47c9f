"""Keeping OAuth access tokens fresh for the proxy (SPEC §7), with single flight.
TOKEN_EXCHANGE accounts' tokens are obtained and renewed under the same lease
(`exchange_renewal.py`).

Within a process, one asyncio lock per account queues concurrent callers. Across
processes (replicas on PostgreSQL, several processes on SQLite), a lease on the account
row decides who refreshes: an UPDATE that succeeds only while nobody else holds it. The
others poll the row until its `token_version` moves, then use the new token. So N callers
with an expired token cause one token request, however many processes serve them.
Client-credentials accounts get their tokens the same way (oauth/client_credentials.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authrelay.accounts.service import secret_context as account_context
from authrelay.context import Invalidate
from authrelay.errors import NotFound, Unavailable
from authrelay.oauth import client_credentials, exchange_renewal, rfc6749
from authrelay.oauth.tokens import account_values, client_config, stored_tokens
from authrelay.providers.catalog import Catalog
from authrelay.providers.service import resolve_provider
from authrelay.proxy.routes import Route, load_route, not_active
from authrelay.store import accounts as account_store
from authrelay.store import cache as cache_store
from authrelay.store.db import as_utc, utcnow
from authrelay.store.models import ConnectedAccount, Connection
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
        remember: Callable[[tuple[str, str, str], Route], None],
        invalidate: Invalidate,
        margin: float,
        allowlist: UpstreamAllowlist,
    ) -> None:
        self.allowlist = allowlist
        self.sessions = sessions
        self.keyring = keyring
        self.catalog = catalog
        self.http = http
        self.remember = remember
        self.invalidate = invalidate
        self.margin = margin
        self.owner = secrets.token_hex(8)
        # One lock per account while someone holds or waits on it: the map keeps no entry
        # for accounts nobody is renewing (100,000 end users must not leave 100,000 locks).
        self.locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def fresh_route(
        self, route: Route, key: tuple[str, str, str], *, rejected: bool = False
    ) -> Route:
        """A route whose token is usable: newer than `route`'s when the upstream rejected it
        (`rejected`), or not about to expire."""
        lock = self.locks.get(route.account_id)
        if lock is None:
            lock = self.locks[route.account_id] = asyncio.Lock()
        async with lock:
            deadline = asyncio.get_running_loop().time() + LEASE_SECONDS + 5
            while asyncio.get_running_loop().time() < deadline:
                async with self.sessions() as session:
                    row = await account_store.by_id(session, route.account_id)
                    if row is None:
                        raise NotFound("the connected account no longer exists")
                    if row.status != "ACTIVE":
                        raise not_active(row.identifier, row.status)
                    newer = (row.token_version or 0) > route.token_version
                    expires = (
                        as_utc(row.token_expires_at).timestamp() if row.token_expires_at else None
                    )
                    # A token someone else just obtained is taken as long as it has not expired,
                    # even inside the margin (short-lived tokens would loop otherwise).
                    usable = expires is None or expires > datetime.now(UTC).timestamp()
                    if newer and (usable or rejected):
                        return await self._reload(session, key)
                    version = row.token_version or 0
                    if await self._take_lease(session, row.id, version):
                        await session.commit()
                        if route.pattern.type == "TOKEN_EXCHANGE":
                            return await exchange_renewal.renew(self, row.id, version, key)
                        return await self._refresh(row.id, version, key)
                    await session.rollback()
                await asyncio.sleep(POLL_SECONDS)
        raise Unavailable("timed out waiting for another process to refresh the access token")

    async def store_token(
        self,
        session: AsyncSession,
        account_id: str,
        version: int,
        secrets_json: str,
        expires_at: float | None,
        details: dict[str, Any],
    ) -> None:
        """Store a newly obtained token for the account whose lease we hold at `version`
        (encrypted, a new token version), release the lease and tell the route caches."""
        await session.execute(
            self._ours(account_id, version).values(
                secret_ct=self.keyring.encrypt(secrets_json, account_context(account_id)),
                token_version=version + 1,
                token_expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
                details=details,
                refresh_lease_owner=None,
                refresh_lease_until=None,
                updated_at=utcnow(),
            )
        )
        moved_to = await cache_store.bump_accounts(session)
        await session.commit()
        self.invalidate(moved_to)

    async def release(self, session: AsyncSession, ours: Any, *, expire: bool = False) -> None:
        """Give up the refresh lease `ours` (`_ours`, maybe narrowed) names and commit; with
        `expire`, the account turns EXPIRED as well, and every route cache is told."""
        changes: dict[str, Any] = {"refresh_lease_owner": None, "refresh_lease_until": None}
        if expire:
            changes.update(status="EXPIRED", updated_at=utcnow())
        await session.execute(ours.values(**changes))
        moved_to = await cache_store.bump_accounts(session) if expire else None
        await session.commit()
        if expire:
            self.invalidate(moved_to)

    async def _reload(self, session: AsyncSession, key: tuple[str, str, str]) -> Route:
        route = await load_route(session, self.keyring, self.catalog, self.allowlist, *key)
        self.remember(key, route)
        return route

    async def _take_lease(self, session: AsyncSession, account_id: str, version: int) -> bool:
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
                refresh_lease_owner=self.owner,
                refresh_lease_until=now + timedelta(seconds=LEASE_SECONDS),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _ours(self, account_id: str, version: int) -> Any:
        return (
            update(ConnectedAccount)
            .where(
                ConnectedAccount.id == account_id,
                ConnectedAccount.token_version == version,
                ConnectedAccount.refresh_lease_owner == self.owner,
            )
            .execution_options(synchronize_session=False)
        )

    async def _refresh(self, account_id: str, version: int, key: tuple[str, str, str]) -> Route:
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
                await client_credentials.obtain(self, session, row, connection, pattern, version)
                async with self.sessions() as fresh:
                    return await self._reload(fresh, key)
            refresh_token = stored_tokens(row, self.keyring).get("refresh_token")
            try:
                if pattern is None or not refresh_token:
                    raise rfc6749.InvalidGrant("no refresh token is stored for this account")
                client = client_config(
                    connection, pattern, self.keyring, account_values(row), self.allowlist
                )
                tokens = await rfc6749.refresh(self.http, client, refresh_token)
            except rfc6749.InvalidGrant as exc:
                log.info("refresh refused; account expired", extra={"account": account_id})
                await self.release(session, self._ours(account_id, version), expire=True)
                raise not_active(row.identifier, "EXPIRED") from exc
            except Exception as exc:
                await self.release(session, self._ours(account_id, version))
                detail = (
                    exc.description
                    if isinstance(exc, rfc6749.OAuthFlowError)
                    else type(exc).__name__
                )
                raise Unavailable(f"refreshing the access token failed: {detail}") from None
            secrets_json = json.dumps(
                {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token or ""}
            )
            details = dict(row.details or {})
            if tokens.scopes is not None:
                details["scopes"] = tokens.scopes
            await self.store_token(
                session, account_id, version, secrets_json, tokens.expires_at, details
            )
        async with self.sessions() as fresh:  # not the session above: its rows are stale
            return await self._reload(fresh, key)
