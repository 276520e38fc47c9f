"""Opening a link: a hosted form for static credentials (and client-credentials OAuth), a
form for the fields an OAuth flow needs first, or the redirect to the provider's
authorize URI with `state` and PKCE."""

from __future__ import annotations

import secrets
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from authrelay.accounts.service import Target
from authrelay.context import ServiceContext
from authrelay.errors import FailedPrecondition, NotFound
from authrelay.oauth import hostfields, rfc6749
from authrelay.oauth.flow_secrets import FlowSecrets, decrypt_flow_secrets, encrypt_flow_secrets
from authrelay.oauth.flows.pages import Page, ask_intro, error_page, form_page
from authrelay.oauth.flows.shared import digest, expired, flow_target, requested_scopes
from authrelay.oauth.rfc7636 import new_verifier, s256_challenge
from authrelay.oauth.tokens import account_values, client_config, fill
from authrelay.providers.grants import uses_client_credentials
from authrelay.store import AsyncSession
from authrelay.store import flows as flow_store
from authrelay.store.db import utcnow
from authrelay.store.models import AuthFlow, ConnectedAccount


def _already_used() -> Page:
    return error_page(
        "Link already used", "This authorization link has already been used.", HTTPStatus.GONE
    )


async def open_link(session: AsyncSession, ctx: ServiceContext, token: str, ttl: int) -> Page:
    flow = await flow_store.by_link_hash(session, digest(token))
    if flow is None:
        return error_page(
            "Link not valid", "This authorization link is not valid.", HTTPStatus.NOT_FOUND
        )
    if flow.status != "ISSUED":
        return error_page(
            "Link already used",
            "This authorization link has already been used. Ask for a new one.",
            HTTPStatus.GONE,
        )
    if expired(flow):
        return error_page(
            "Link expired",
            "This authorization link has expired. Ask for a new one.",
            HTTPStatus.GONE,
        )
    try:
        account, target = await flow_target(session, ctx, flow)
    except (NotFound, FailedPrecondition) as exc:
        return error_page("Cannot connect", exc.message, HTTPStatus.CONFLICT)
    name = target.provider.definition.display_name
    values: dict[str, Any] = {
        "expires_at": utcnow() + timedelta(seconds=ttl),
        "opened_at": utcnow(),
    }
    if target.pattern.type != "OAUTH" or uses_client_credentials(target.pattern):
        csrf = secrets.token_urlsafe(32)
        if not await flow_store.claim(
            session, flow, "ISSUED", "OPENED", csrf_hash=digest(csrf), **values
        ):
            return _already_used()
        await session.commit()
        return form_page(flow.id, csrf, target, name, {}, {})
    given = hostfields.flow_api_config(decrypt_flow_secrets(ctx.keyring, flow.id, flow.secret_ct))
    ask = hostfields.missing(target.pattern, {**account_values(account), **given})
    if ask:
        csrf = secrets.token_urlsafe(32)
        if not await flow_store.claim(
            session, flow, "ISSUED", "ASKING", csrf_hash=digest(csrf), **values
        ):
            return _already_used()
        await session.commit()
        return form_page(flow.id, csrf, target, name, {}, {}, specs=ask, intro=ask_intro(name))
    return await redirect(session, ctx, flow, account, target, given, "ISSUED", **values)


async def redirect(
    session: AsyncSession,
    ctx: ServiceContext,
    flow: AuthFlow,
    account: ConnectedAccount,
    target: Target,
    given: dict[str, str],
    expected: str,
    **values: Any,
) -> Page:
    """Move the flow from `expected` to OPENED and send the browser to authorize_uri."""
    oauth = target.pattern.oauth_config
    assert oauth is not None and oauth.authorize_uri is not None
    filled = {**account_values(account), **given}
    try:
        client = client_config(
            target.connection, target.pattern, ctx.keyring, filled, ctx.allowlist
        )
        authorize_uri = fill(oauth.authorize_uri, filled, ctx.allowlist)
    except FailedPrecondition as exc:
        return error_page("Cannot connect", exc.message, HTTPStatus.CONFLICT)
    state = secrets.token_urlsafe(32)
    pkce = bool(target.connection.config.get("pkce_enabled", oauth.pkce_enabled))
    verifier = new_verifier() if pkce else None
    secret: FlowSecrets = {"code_verifier": verifier, "api_config": given}
    if not await flow_store.claim(
        session,
        flow,
        expected,
        "OPENED",
        state_hash=digest(state),
        secret_ct=encrypt_flow_secrets(ctx.keyring, flow.id, secret),
        **values,
    ):
        return _already_used()
    await session.commit()
    extra = dict(oauth.authorization_params or {})
    for option in ("prompt", "access_type"):
        if target.connection.config.get(option):
            extra[option] = target.connection.config[option]
    url = rfc6749.authorization_url(
        authorize_uri,
        client_id=client.client_id,
        redirect_uri=ctx.redirect_uri,
        state=state,
        scopes=requested_scopes(target),
        scope_param=target.connection.config.get("custom_scope_name")
        or oauth.custom_scope_name
        or "scope",
        scope_separator=oauth.scope_separator or " ",
        code_challenge=s256_challenge(verifier) if verifier else None,
        extra=extra,
    )
    return Page("redirect", HTTPStatus.SEE_OTHER, redirect=url)
