"""User verification (SPEC §7): with a `user_verify_url` on the link, the callback keeps the
tokens on the flow and the caller confirms who signed in; only a matching identifier
gets the tokens, a mismatch closes the flow. `done` is the page the user ends on."""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import StringConstraints

from authrelay.accounts.model import Identifier
from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import FailedPrecondition, NotFound, PermissionDenied
from authrelay.oauth import hostfields, rfc6749
from authrelay.oauth.flow_secrets import decrypt_flow_secrets
from authrelay.oauth.flows.pages import LINK_PATH, Page, done_page, error_page
from authrelay.oauth.flows.shared import expired, flow_target
from authrelay.oauth.tokens import apply_tokens
from authrelay.providers.validation import parse_strict
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import flows as flow_store
from authrelay.store.db import utcnow
from authrelay_client.providers.model import StrictModel


class VerifyRequest(StrictModel):
    auth_request_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    identifier: Identifier


async def verify_user(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> dict[str, Any]:
    body = parse_strict(VerifyRequest, raw)
    flow = await flow_store.by_id(session, body.auth_request_id)
    if flow is None or flow.environment_id != principal.environment_id:
        raise NotFound("no pending authorization with that auth_request_id")
    if flow.status != "PENDING_VERIFICATION":
        raise FailedPrecondition("this authorization request was already verified or is closed")
    if expired(flow):
        raise FailedPrecondition("this authorization request has expired; send a new link")
    account = await account_store.by_id(session, flow.account_id)
    if account is None:
        raise NotFound("the connected account no longer exists")
    if not secrets.compare_digest(account.identifier, body.identifier):
        if await flow_store.claim(
            session,
            flow,
            "PENDING_VERIFICATION",
            "FAILED",
            error="identifier mismatch",
            secret_ct=None,
            completed_at=utcnow(),
        ):
            if account.status == "PENDING_VERIFICATION":
                account.status = "PENDING_AUTH"
            await session.commit()
        raise PermissionDenied(
            "the identifier does not match the user who started this authorization; it is "
            "refused and closed"
        )
    pending = decrypt_flow_secrets(ctx.keyring, flow.id, flow.secret_ct)
    if not await flow_store.claim(
        session, flow, "PENDING_VERIFICATION", "COMPLETED", completed_at=utcnow(), secret_ct=None
    ):
        raise FailedPrecondition("this authorization request was already verified")
    tokens = rfc6749.TokenSet(
        access_token=pending["access_token"],
        refresh_token=pending.get("refresh_token"),
        expires_at=pending.get("expires_at"),
        scopes=pending.get("scopes"),
    )
    hostfields.apply_api_config(account, hostfields.flow_api_config(pending))
    apply_tokens(
        account,
        tokens,
        ctx.keyring,
        requested_scopes=pending.get("requested"),
        user_info=pending.get("user_info"),
    )
    change = Change(
        "connected_account.verify",
        account.id,
        after={"identifier": account.identifier, "status": "ACTIVE"},
    )
    await commit_change(session, ctx, principal, change)
    return {"post_user_verify_redirect_url": f"{ctx.public_url}{LINK_PATH}done/{flow.id}"}


async def done(session: AsyncSession, ctx: ServiceContext, flow_id: str) -> Page:
    flow = await flow_store.by_id(session, flow_id)
    if flow is None or flow.status != "COMPLETED":
        return error_page(
            "Not connected", "This authorization is not complete.", HTTPStatus.NOT_FOUND
        )
    _, target = await flow_target(session, ctx, flow)
    return done_page(target.provider.definition.display_name)
