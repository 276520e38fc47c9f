"""What every step of a flow uses: the hash stored for each single-use token, expiry, the
account and connection a flow is for, and the audited commit that ends a step."""

from __future__ import annotations

import hashlib

from authrelay.accounts.service import Target, resolve_target
from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import NotFound
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store.db import as_utc, utcnow
from authrelay.store.models import AuthFlow, ConnectedAccount


def digest(token: str) -> str:
    """What is stored of a link, `state` or CSRF token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def expired(flow: AuthFlow) -> bool:
    return as_utc(flow.expires_at) < utcnow()


def link_principal(flow: AuthFlow) -> Principal:
    return Principal(flow.environment_id, "authorization-link")


async def flow_target(
    session: AsyncSession, ctx: ServiceContext, flow: AuthFlow
) -> tuple[ConnectedAccount, Target]:
    account = await account_store.by_id(session, flow.account_id)
    if account is None:
        raise NotFound("the connected account of this link no longer exists")
    target = await resolve_target(session, link_principal(flow), ctx, account.connection_id)
    return account, target


def requested_scopes(target: Target) -> list[str]:
    return list(target.connection.config.get("scopes") or [])


async def finish(
    session: AsyncSession,
    ctx: ServiceContext,
    flow: AuthFlow,
    account: ConnectedAccount,
    action: str,
) -> None:
    change = Change(
        action, account.id, after={"identifier": account.identifier, "status": account.status}
    )
    await commit_change(session, ctx, link_principal(flow), change)
