"""The OAuth callback, in steps (each one concern, like httpx's `send` →
`_send_handling_auth` → `_send_single_request`):

1. `_claim_flow`: find the flow by its `state` and move it OPENED → EXCHANGING, once;
2. `_code_of`: the provider's answer: an error it reports, or the authorization code;
3. `_exchange`: the code (with the PKCE verifier) for tokens, and the user's public info;
4. `_hold_for_verification` or `_complete`: the tokens wait for user verification, or go
   to the account; the flow ends and the browser is redirected or told it is connected.

A step that cannot go on raises `_Stop` with the page to show; a failed step after the
claim ends the flow (`_fail`) and the account keeps what it had."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from authrelay.accounts.service import Target
from authrelay.context import ServiceContext
from authrelay.errors import FailedPrecondition
from authrelay.oauth import hostfields, rfc6749
from authrelay.oauth.flow_secrets import FlowSecrets, decrypt_flow_secrets, encrypt_flow_secrets
from authrelay.oauth.flows.pages import Page, done_page, error_page
from authrelay.oauth.flows.shared import (
    digest,
    expired,
    finish,
    flow_target,
    requested_scopes,
)
from authrelay.oauth.tokens import (
    account_values,
    apply_tokens,
    client_config,
    fill,
    public_user_info,
)
from authrelay.store import AsyncSession
from authrelay.store import flows as flow_store
from authrelay.store.db import utcnow
from authrelay.store.models import AuthFlow, ConnectedAccount


class _Stop(Exception):
    """The callback ends here with this page."""

    def __init__(self, page: Page) -> None:
        super().__init__(page.template)
        self.page = page


@dataclass(frozen=True)
class _Claimed:
    """A flow this callback claimed, with what every later step needs."""

    session: AsyncSession
    ctx: ServiceContext
    flow: AuthFlow
    account: ConnectedAccount
    target: Target

    @property
    def name(self) -> str:
        return self.target.provider.definition.display_name


class _Grant(NamedTuple):
    """What the exchange brought: the tokens, the user's public info (when the provider has
    a user-info URI) and the account fields given on the link or the form."""

    tokens: rfc6749.TokenSet
    user_info: dict[str, object] | None
    api_config: dict[str, str]


async def callback(
    session: AsyncSession,
    ctx: ServiceContext,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    ttl: int,
) -> Page:
    try:
        claimed = await _claim_flow(session, ctx, params.get("state", ""))
        code = await _code_of(claimed, params)
        grant = await _exchange(claimed, http, code)
    except _Stop as stop:
        return stop.page
    if claimed.flow.user_verify_url:
        return await _hold_for_verification(claimed, grant, claimed.flow.user_verify_url, ttl)
    return await _complete(claimed, grant)


async def _claim_flow(session: AsyncSession, ctx: ServiceContext, state: str) -> _Claimed:
    """The pending flow this `state` belongs to, moved OPENED → EXCHANGING exactly once."""
    flow = await flow_store.by_state_hash(session, digest(state)) if state else None
    if flow is None:
        raise _Stop(
            error_page(
                "Authorization not recognised",
                "This authorization response does not belong to a pending authorization.",
            )
        )
    if expired(flow):
        raise _Stop(
            error_page(
                "Authorization expired",
                "This authorization took too long. Ask for a new link.",
                HTTPStatus.GONE,
            )
        )
    if not await flow_store.claim(session, flow, "OPENED", "EXCHANGING"):
        raise _Stop(
            error_page(
                "Authorization already used",
                "This authorization response was already used.",
                HTTPStatus.GONE,
            )
        )
    await session.commit()
    account, target = await flow_target(session, ctx, flow)
    return _Claimed(session, ctx, flow, account, target)


async def _code_of(claimed: _Claimed, params: dict[str, str]) -> str:
    """The authorization code, unless the provider reported an error or sent none."""
    name = claimed.name
    if params.get("error"):
        raise await _fail(
            claimed,
            f"{name} answered: {params['error']}",
            "Authorization declined",
            f"{name} did not grant access ({params['error']}). Nothing was connected.",
        )
    code = params.get("code")
    if not code:
        raise await _fail(
            claimed,
            "no code",
            "Authorization failed",
            f"{name} sent no authorization code. Nothing was connected.",
        )
    return code


async def _exchange(claimed: _Claimed, http: aiohttp.ClientSession, code: str) -> _Grant:
    """The code (and the PKCE verifier the flow kept) exchanged for tokens at the token
    endpoint; then the user's public info, which is never fatal."""
    ctx, account, target = claimed.ctx, claimed.account, claimed.target
    flow_secret = decrypt_flow_secrets(ctx.keyring, claimed.flow.id, claimed.flow.secret_ct)
    verifier = flow_secret.get("code_verifier")
    given = hostfields.flow_api_config(flow_secret)
    filled = {**account_values(account), **given}
    try:
        client = client_config(
            target.connection, target.pattern, ctx.keyring, filled, ctx.allowlist
        )
        tokens = await rfc6749.exchange_code(
            http, client, code=code, redirect_uri=ctx.redirect_uri, code_verifier=verifier
        )
    except (rfc6749.OAuthFlowError, FailedPrecondition) as exc:
        detail = exc.description if isinstance(exc, rfc6749.OAuthFlowError) else exc.message
        raise await _fail(
            claimed,
            detail,
            "Authorization failed",
            f"Exchanging the authorization code with {claimed.name} failed: {detail}. "
            "Nothing was connected.",
        ) from None
    info = None
    oauth = target.pattern.oauth_config
    if oauth is not None and oauth.user_info_uri:
        with contextlib.suppress(FailedPrecondition):  # user info is never fatal
            user_info_uri = fill(oauth.user_info_uri, filled, ctx.allowlist)
            info = public_user_info(
                await rfc6749.user_info(http, user_info_uri, tokens.access_token)
            )
    return _Grant(tokens, info, given)


async def _hold_for_verification(
    claimed: _Claimed, grant: _Grant, user_verify_url: str, ttl: int
) -> Page:
    """The tokens wait, encrypted on the flow, until the caller verifies the user
    (`verification.verify_user`); the browser goes to the caller's verify URL."""
    flow, account, tokens = claimed.flow, claimed.account, grant.tokens
    pending: FlowSecrets = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at,
        "scopes": tokens.scopes,
        "user_info": grant.user_info,
        "requested": requested_scopes(claimed.target),
        "api_config": grant.api_config,
    }
    flow.secret_ct = encrypt_flow_secrets(claimed.ctx.keyring, flow.id, pending)
    flow.status = "PENDING_VERIFICATION"
    flow.expires_at = utcnow() + timedelta(seconds=ttl)
    if account.status != "ACTIVE":
        account.status = "PENDING_VERIFICATION"
        account.updated_at = utcnow()
    await finish(
        claimed.session, claimed.ctx, flow, account, "connected_account.pending_verification"
    )
    params_out = {"auth_request_id": flow.id}
    if flow.caller_state is not None:
        params_out["state"] = flow.caller_state
    return Page("redirect", HTTPStatus.SEE_OTHER, redirect=_with_query(user_verify_url, params_out))


async def _complete(claimed: _Claimed, grant: _Grant) -> Page:
    """The tokens go to the account and the flow is COMPLETED."""
    flow, account = claimed.flow, claimed.account
    hostfields.apply_api_config(account, grant.api_config)
    apply_tokens(
        account,
        grant.tokens,
        claimed.ctx.keyring,
        requested_scopes=requested_scopes(claimed.target),
        user_info=grant.user_info,
    )
    flow.status = "COMPLETED"
    flow.completed_at = utcnow()
    flow.secret_ct = None
    await finish(claimed.session, claimed.ctx, flow, account, "connected_account.authorize")
    return done_page(claimed.name, flow.return_url)


async def _fail(claimed: _Claimed, error: str, title: str, message: str) -> _Stop:
    """The flow ends; the account keeps what it had (a re-authorization leaves old tokens)."""
    flow = claimed.flow
    flow.status = "FAILED"
    flow.error = error[:500]
    flow.secret_ct = None
    flow.completed_at = utcnow()
    await claimed.session.commit()
    return _Stop(error_page(title, message, HTTPStatus.BAD_REQUEST))


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))
