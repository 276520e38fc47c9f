"""The hosted form's submission: static credentials checked and stored, or the fields an
OAuth flow asked for before its redirect. The CSRF token is in a cookie and in the form."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from authrelay.accounts.credentials import validate_static
from authrelay.accounts.service import Target, store_client_inputs, store_static_inputs
from authrelay.context import ServiceContext
from authrelay.errors import InvalidArgument
from authrelay.oauth import hostfields
from authrelay.oauth.flow_secrets import decrypt_flow_secrets
from authrelay.oauth.flows.authorize import redirect
from authrelay.oauth.flows.pages import Page, ask_intro, done_page, error_page, form_page
from authrelay.oauth.flows.shared import digest, expired, finish, flow_target
from authrelay.oauth.tokens import account_values
from authrelay.providers.grants import uses_client_credentials
from authrelay.store import AsyncSession
from authrelay.store import flows as flow_store
from authrelay.store.db import utcnow
from authrelay.store.models import AuthFlow, ConnectedAccount


async def submit_form(
    session: AsyncSession,
    ctx: ServiceContext,
    flow_id: str,
    form: dict[str, str],
    cookie: str | None,
) -> Page:
    flow = await flow_store.by_id(session, flow_id)
    if flow is None or flow.status not in {"OPENED", "ASKING"} or flow.csrf_hash is None:
        return error_page(
            "Link not valid", "This form is no longer valid. Ask for a new link.", HTTPStatus.GONE
        )
    token = form.get("csrf_token", "")
    if not token or cookie != token or digest(token) != flow.csrf_hash:
        return error_page(
            "Form expired",
            "The form could not be verified. Open the link again.",
            HTTPStatus.FORBIDDEN,
        )
    if expired(flow):
        return error_page(
            "Link expired", "This form has expired. Ask for a new link.", HTTPStatus.GONE
        )
    account, target = await flow_target(session, ctx, flow)
    name = target.provider.definition.display_name
    if flow.status == "ASKING":
        return await _submit_oauth_fields(session, ctx, flow, account, target, form, token)
    specs = {f.field_name: f for f in target.pattern.fields}
    details: dict[str, Any] = {k: form[k] for k in specs if form.get(k)}
    try:
        inputs = validate_static(target.provider.definition, target.pattern, details)
    except InvalidArgument as exc:
        errors = {}
        for violation in exc.violations:
            field_name = violation.field.rsplit(".", 1)[-1]
            errors[field_name if field_name in specs else "_form"] = violation.description
        return form_page(flow.id, token, target, name, details, errors, HTTPStatus.BAD_REQUEST)
    if not await flow_store.claim(session, flow, "OPENED", "COMPLETED", completed_at=utcnow()):
        return error_page(
            "Already submitted", "This form has already been submitted.", HTTPStatus.GONE
        )
    if uses_client_credentials(target.pattern):
        store_client_inputs(account, target.pattern, inputs, ctx)
    else:
        store_static_inputs(account, target.pattern, inputs, ctx)
        account.token_expires_at = None  # a TOKEN_EXCHANGE account's token was for the old values
        account.updated_at = utcnow()
    await finish(session, ctx, flow, account, "connected_account.authorize")
    return done_page(name, flow.return_url)


async def _submit_oauth_fields(
    session: AsyncSession,
    ctx: ServiceContext,
    flow: AuthFlow,
    account: ConnectedAccount,
    target: Target,
    form: dict[str, str],
    csrf: str,
) -> Page:
    """The fields an OAuth flow asked for before its redirect: checked, then the redirect."""
    name = target.provider.definition.display_name
    given = hostfields.flow_api_config(decrypt_flow_secrets(ctx.keyring, flow.id, flow.secret_ct))
    ask = hostfields.missing(target.pattern, {**account_values(account), **given})
    got, errors = hostfields.check_form(target.provider.definition, target.pattern, ask, form)
    if errors:
        shown = {k: form.get(k, "") for k in got} | {k: form.get(k, "") for k in errors}
        return form_page(
            flow.id,
            csrf,
            target,
            name,
            shown,
            errors,
            HTTPStatus.BAD_REQUEST,
            specs=ask,
            intro=ask_intro(name),
        )
    return await redirect(
        session, ctx, flow, account, target, {**given, **got}, "ASKING", csrf_hash=None
    )
