"""The magic link (SPEC §7): an API client asks for one, for an existing account or a new
pending one; the link's token is shown once and only its hash is stored."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from authrelay.accounts.model import Identifier, OptionalId
from authrelay.accounts.service import find_account, pending_account, resolve_target
from authrelay.auth.principal import Principal
from authrelay.changes import Change, record
from authrelay.context import ServiceContext
from authrelay.errors import InvalidArgument
from authrelay.oauth import hostfields
from authrelay.oauth.flow_secrets import encrypt_flow_secrets
from authrelay.oauth.flows.pages import LINK_PATH
from authrelay.oauth.flows.shared import digest
from authrelay.providers.validation import parse_strict
from authrelay.store import AsyncSession
from authrelay.store import cache as cache_store
from authrelay.store import flows as flow_store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import AuthFlow
from authrelay_client.providers.model import StrictModel
from authrelay_client.providers.urls import check_upstream_url


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


class MagicLinkRequest(StrictModel):
    organization_id: OptionalId = None
    user_id: OptionalId = None
    connector: Annotated[str, StringConstraints(max_length=200)] | None = None
    identifier: Identifier | None = None
    id: OptionalId = None
    state: Annotated[str, StringConstraints(max_length=2048), AfterValidator(_printable)] | None = (
        None
    )
    user_verify_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    # authrelay's own: account fields for the OAuth URLs' placeholders (SPEC §3a)
    api_config: Annotated[dict[str, Any], Field(max_length=50)] | None = None


async def create_magic_link(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    raw: Any,
    ttl: int,
    *,
    return_url: str | None = None,
) -> dict[str, Any]:
    """A magic link; `return_url` (the server's own, never a caller's): where the browser
    goes when the flow is done, instead of the "connected" page."""
    # Two links for a new account at once: the other request created it; the retry uses it.
    return await flow_store.once_more_after_conflict(
        session, lambda: _create_magic_link(session, principal, ctx, raw, ttl, return_url)
    )


async def _create_magic_link(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    raw: Any,
    ttl: int,
    return_url: str | None,
) -> dict[str, Any]:
    body = parse_strict(MagicLinkRequest, raw)
    if body.user_verify_url:
        try:
            check_upstream_url(body.user_verify_url, ctx.allowlist, allow_query=True)
        except ValueError as exc:
            raise InvalidArgument.field("user_verify_url", str(exc)) from None
    moved_to = None  # the accounts generation, when a pending account is added
    if body.id:
        row, connection = await find_account(
            session, principal, account_id=body.id, connector=None, identifier=None
        )
        target = await resolve_target(session, principal, ctx, connection.id)
    else:
        if not body.connector or not body.identifier:
            raise InvalidArgument.field("identifier", "give id, or connector and identifier")
        target = await resolve_target(session, principal, ctx, body.connector)
        existing = await flow_store.account_by_identifier(
            session, target.connection.id, body.identifier
        )
        if existing is not None:
            row = existing
        else:
            row = pending_account(
                principal.environment_id,
                target,
                body.identifier,
                body.organization_id,
                body.user_id,
            )
            session.add(row)
            moved_to = await cache_store.bump_accounts(session)
    flow_id = new_id("flow")
    flow_secret = None
    if body.api_config is not None:
        given = hostfields.check_link_api_config(
            target.provider.definition, target.pattern, body.api_config
        )
        if given:
            flow_secret = encrypt_flow_secrets(ctx.keyring, flow_id, {"api_config": given})
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=ttl)
    session.add(
        AuthFlow(
            id=flow_id,
            secret_ct=flow_secret,
            environment_id=principal.environment_id,
            account_id=row.id,
            link_hash=digest(token),
            caller_state=body.state,
            user_verify_url=body.user_verify_url,
            return_url=return_url,
            status="ISSUED",
            expires_at=expires,
            created_at=utcnow(),
        )
    )
    change = Change(
        "connected_account.magic_link",
        row.id,
        after={"identifier": row.identifier, "status": row.status},
    )
    await record(session, principal, change)
    await session.commit()
    ctx.invalidate_accounts(moved_to)
    return {
        "link": f"{ctx.public_url}{LINK_PATH}{token}",
        "expiry": as_utc(expires).isoformat().replace("+00:00", "Z"),
    }
