"""Authorization links and what follows them (SPEC §7): the magic link, opening it (an
OAuth redirect or a hosted form), the callback, the hosted form's submission, and user
verification. Each step is single-use: a compare-and-swap on the flow's status."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.accounts.credentials import validate_static
from authrelay.accounts.model import Identifier, OptionalId
from authrelay.accounts.service import (
    Target,
    find_account,
    pending_account,
    resolve_target,
    store_client_inputs,
)
from authrelay.accounts.service import secret_context as account_context
from authrelay.auth.principal import Principal
from authrelay.changes import commit_change
from authrelay.context import ServiceContext
from authrelay.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from authrelay.oauth import hostfields, rfc6749
from authrelay.oauth.rfc7636 import new_verifier, s256_challenge
from authrelay.oauth.tokens import (
    account_values,
    apply_tokens,
    client_config,
    fill,
    public_user_info,
)
from authrelay.providers.grants import uses_client_credentials
from authrelay.providers.validation import parse_strict
from authrelay.store import accounts as account_store
from authrelay.store import audit
from authrelay.store import cache as cache_store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import AuthFlow, ConnectedAccount
from authrelay_client.providers.model import InputField, StrictModel
from authrelay_client.providers.urls import check_upstream_url

LINK_PATH = "/connect/"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


class VerifyRequest(StrictModel):
    auth_request_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    identifier: Identifier


@dataclass
class Page:
    """What a hosted page shows; `web/` renders it."""

    template: str
    status: int = 200
    context: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)


def error_page(title: str, message: str, status: int = 400) -> Page:
    return Page("message.html", status, {"title": title, "message": message, "ok": False})


# ---------------------------------------------------------------------------- the link


async def create_magic_link(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any, ttl: int
) -> dict[str, Any]:
    try:
        return await _create_magic_link(session, principal, ctx, raw, ttl)
    except IntegrityError:
        # Two links for a new account at once: the other request created it; use it.
        await session.rollback()
        return await _create_magic_link(session, principal, ctx, raw, ttl)


async def _create_magic_link(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any, ttl: int
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
        existing = await session.scalar(
            select(ConnectedAccount).where(
                ConnectedAccount.connection_id == target.connection.id,
                ConnectedAccount.identifier == body.identifier,
            )
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
            flow_secret = ctx.keyring.encrypt(json.dumps({"api_config": given}), f"flow:{flow_id}")
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=ttl)
    session.add(
        AuthFlow(
            id=flow_id,
            secret_ct=flow_secret,
            environment_id=principal.environment_id,
            account_id=row.id,
            link_hash=_digest(token),
            caller_state=body.state,
            user_verify_url=body.user_verify_url,
            status="ISSUED",
            expires_at=expires,
            created_at=utcnow(),
        )
    )
    await audit.record(
        session,
        environment_id=principal.environment_id,
        actor=principal.actor,
        action="connected_account.magic_link",
        resource_type="connected_account",
        resource_id=row.id,
        before=None,
        after={"identifier": row.identifier, "status": row.status},
    )
    await session.commit()
    ctx.invalidate_accounts(moved_to)
    return {
        "link": f"{ctx.public_url}{LINK_PATH}{token}",
        "expiry": as_utc(expires).isoformat().replace("+00:00", "Z"),
    }


async def _claim(
    session: AsyncSession, flow: AuthFlow, expected: str, new: str, **values: Any
) -> bool:
    """Move a flow from one status to the next exactly once, whoever else tries."""
    result = await session.execute(
        update(AuthFlow)
        .where(AuthFlow.id == flow.id, AuthFlow.status == expected)
        .values(status=new, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _expired(flow: AuthFlow) -> bool:
    return as_utc(flow.expires_at) < utcnow()


def _principal(flow: AuthFlow) -> Principal:
    return Principal(flow.environment_id, "authorization-link")


async def _flow_target(
    session: AsyncSession, ctx: ServiceContext, flow: AuthFlow
) -> tuple[ConnectedAccount, Target]:
    account = await account_store.by_id(session, flow.account_id)
    if account is None:
        raise NotFound("the connected account of this link no longer exists")
    target = await resolve_target(session, _principal(flow), ctx, account.connection_id)
    return account, target


def _scopes(target: Target) -> list[str]:
    return list(target.connection.config.get("scopes") or [])


async def open_link(session: AsyncSession, ctx: ServiceContext, token: str, ttl: int) -> Page:
    flow = await session.scalar(select(AuthFlow).where(AuthFlow.link_hash == _digest(token)))
    if flow is None:
        return error_page("Link not valid", "This authorization link is not valid.", 404)
    if flow.status != "ISSUED":
        return error_page(
            "Link already used",
            "This authorization link has already been used. Ask for a new one.",
            410,
        )
    if _expired(flow):
        return error_page(
            "Link expired", "This authorization link has expired. Ask for a new one.", 410
        )
    try:
        account, target = await _flow_target(session, ctx, flow)
    except (NotFound, FailedPrecondition) as exc:
        return error_page("Cannot connect", exc.message, 409)
    name = target.provider.definition.display_name
    values: dict[str, Any] = {
        "expires_at": utcnow() + timedelta(seconds=ttl),
        "opened_at": utcnow(),
    }
    if target.pattern.type != "OAUTH" or uses_client_credentials(target.pattern):
        csrf = secrets.token_urlsafe(32)
        if not await _claim(session, flow, "ISSUED", "OPENED", csrf_hash=_digest(csrf), **values):
            return error_page(
                "Link already used", "This authorization link has already been used.", 410
            )
        await session.commit()
        return form_page(flow.id, csrf, target, name, {}, {})
    given = hostfields.flow_api_config(hostfields.flow_secret(flow, ctx.keyring))
    ask = hostfields.missing(target.pattern, {**account_values(account), **given})
    if ask:
        csrf = secrets.token_urlsafe(32)
        if not await _claim(session, flow, "ISSUED", "ASKING", csrf_hash=_digest(csrf), **values):
            return error_page(
                "Link already used", "This authorization link has already been used.", 410
            )
        await session.commit()
        return form_page(flow.id, csrf, target, name, {}, {}, specs=ask, intro=_ask_intro(name))
    return await _redirect(session, ctx, flow, account, target, given, "ISSUED", **values)


def _ask_intro(name: str) -> str:
    return f"Tell us which {name} account to connect; you sign in to {name} next."


async def _redirect(
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
        return error_page("Cannot connect", exc.message, 409)
    state = secrets.token_urlsafe(32)
    pkce = bool(target.connection.config.get("pkce_enabled", oauth.pkce_enabled))
    verifier = new_verifier() if pkce else None
    secret = json.dumps({"code_verifier": verifier, "api_config": given})
    if not await _claim(
        session,
        flow,
        expected,
        "OPENED",
        state_hash=_digest(state),
        secret_ct=ctx.keyring.encrypt(secret, f"flow:{flow.id}"),
        **values,
    ):
        return error_page(
            "Link already used", "This authorization link has already been used.", 410
        )
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
        scopes=_scopes(target),
        scope_param=target.connection.config.get("custom_scope_name")
        or oauth.custom_scope_name
        or "scope",
        scope_separator=oauth.scope_separator or " ",
        code_challenge=s256_challenge(verifier) if verifier else None,
        extra=extra,
    )
    return Page("redirect", 303, redirect=url)


# ---------------------------------------------------------------------------- static form


def form_page(
    flow_id: str,
    csrf: str,
    target: Target,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    *,
    specs: list[InputField] | None = None,
    intro: str = "",
) -> Page:
    fields = [
        {
            "name": f.field_name,
            "label": f.label or f.field_name.replace("_", " ").capitalize(),
            "hint": f.hint,
            "required": f.required,
            "type": f.input_type,
            "options": f.options or [],
            "value": "" if f.input_type == "password" else values.get(f.field_name, ""),
            "error": errors.get(f.field_name, ""),
        }
        for f in (target.pattern.fields if specs is None else specs)
    ]
    labels = {f["name"]: f["label"] for f in fields}
    return Page(
        "form.html",
        status,
        {
            "title": f"Connect {name}",
            "provider": name,
            "action": f"{LINK_PATH}flow/{flow_id}",
            "csrf": csrf,
            "fields": fields,
            "intro": intro,
            # The summary names each field by the label the user sees next to it.
            "errors": [
                f"{labels[key]}: {text}" if key in labels else text
                for key, text in errors.items()
                if text
            ],
        },
        cookies={f"authrelay_csrf_{flow_id}": csrf},
    )


async def submit_form(
    session: AsyncSession,
    ctx: ServiceContext,
    flow_id: str,
    form: dict[str, str],
    cookie: str | None,
) -> Page:
    flow = await session.get(AuthFlow, flow_id)
    if flow is None or flow.status not in {"OPENED", "ASKING"} or flow.csrf_hash is None:
        return error_page(
            "Link not valid", "This form is no longer valid. Ask for a new link.", 410
        )
    token = form.get("csrf_token", "")
    if not token or cookie != token or _digest(token) != flow.csrf_hash:
        return error_page(
            "Form expired", "The form could not be verified. Open the link again.", 403
        )
    if _expired(flow):
        return error_page("Link expired", "This form has expired. Ask for a new link.", 410)
    account, target = await _flow_target(session, ctx, flow)
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
        return form_page(flow.id, token, target, name, details, errors, 400)
    if not await _claim(session, flow, "OPENED", "COMPLETED", completed_at=utcnow()):
        return error_page("Already submitted", "This form has already been submitted.", 410)
    if uses_client_credentials(target.pattern):
        store_client_inputs(account, target.pattern, inputs, ctx)
    else:
        account.secret_ct = ctx.keyring.encrypt(
            json.dumps({"values": inputs.values, "path_variables": inputs.path_variables}),
            account_context(account.id),
        )
        account.details = inputs.public(target.pattern)
        account.status = "ACTIVE"
        account.token_expires_at = None  # a TOKEN_EXCHANGE account's token was for the old values
        account.updated_at = utcnow()
    await _finish(session, ctx, flow, account, "connected_account.authorize")
    return done_page(name)


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
    given = hostfields.flow_api_config(hostfields.flow_secret(flow, ctx.keyring))
    ask = hostfields.missing(target.pattern, {**account_values(account), **given})
    got, errors = hostfields.check_form(target.provider.definition, target.pattern, ask, form)
    if errors:
        shown = {k: form.get(k, "") for k in got} | {k: form.get(k, "") for k in errors}
        return form_page(
            flow.id, csrf, target, name, shown, errors, 400, specs=ask, intro=_ask_intro(name)
        )
    return await _redirect(
        session, ctx, flow, account, target, {**given, **got}, "ASKING", csrf_hash=None
    )


def done_page(name: str) -> Page:
    return Page(
        "message.html",
        200,
        {
            "title": "Connected",
            "ok": True,
            "message": f"Your {name} account is connected. You can close this page.",
        },
    )


async def _finish(
    session: AsyncSession,
    ctx: ServiceContext,
    flow: AuthFlow,
    account: ConnectedAccount,
    action: str,
) -> None:
    await commit_change(
        session,
        ctx,
        environment_id=flow.environment_id,
        actor="authorization-link",
        action=action,
        resource_type="connected_account",
        resource_id=account.id,
        before=None,
        after={"identifier": account.identifier, "status": account.status},
    )


# ---------------------------------------------------------------------------- callback


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


async def callback(
    session: AsyncSession,
    ctx: ServiceContext,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    ttl: int,
) -> Page:
    state = params.get("state", "")
    flow = (
        await session.scalar(select(AuthFlow).where(AuthFlow.state_hash == _digest(state)))
        if state
        else None
    )
    if flow is None:
        return error_page(
            "Authorization not recognised",
            "This authorization response does not belong to a pending authorization.",
        )
    if _expired(flow):
        return error_page(
            "Authorization expired", "This authorization took too long. Ask for a new link.", 410
        )
    if not await _claim(session, flow, "OPENED", "EXCHANGING"):
        return error_page(
            "Authorization already used", "This authorization response was already used.", 410
        )
    await session.commit()
    account, target = await _flow_target(session, ctx, flow)
    name = target.provider.definition.display_name
    if params.get("error"):
        return await _fail(
            session,
            flow,
            account,
            f"{name} answered: {params['error']}",
            "Authorization declined",
            f"{name} did not grant access ({params['error']}). Nothing was connected.",
        )
    code = params.get("code")
    if not code:
        return await _fail(
            session,
            flow,
            account,
            "no code",
            "Authorization failed",
            f"{name} sent no authorization code. Nothing was connected.",
        )
    flow_secret = hostfields.flow_secret(flow, ctx.keyring)
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
        return await _fail(
            session,
            flow,
            account,
            detail,
            "Authorization failed",
            f"Exchanging the authorization code with {name} failed: {detail}. "
            "Nothing was connected.",
        )
    info = None
    oauth = target.pattern.oauth_config
    if oauth is not None and oauth.user_info_uri:
        with contextlib.suppress(FailedPrecondition):  # user info is never fatal
            user_info_uri = fill(oauth.user_info_uri, filled, ctx.allowlist)
            info = public_user_info(
                await rfc6749.user_info(http, user_info_uri, tokens.access_token)
            )
    if flow.user_verify_url:
        pending = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
            "scopes": tokens.scopes,
            "user_info": info,
            "requested": _scopes(target),
            "api_config": given,
        }
        flow.secret_ct = ctx.keyring.encrypt(json.dumps(pending), f"flow:{flow.id}")
        flow.status = "PENDING_VERIFICATION"
        flow.expires_at = utcnow() + timedelta(seconds=ttl)
        if account.status != "ACTIVE":
            account.status = "PENDING_VERIFICATION"
            account.updated_at = utcnow()
        await _finish(session, ctx, flow, account, "connected_account.pending_verification")
        params_out = {"auth_request_id": flow.id}
        if flow.caller_state is not None:
            params_out["state"] = flow.caller_state
        return Page("redirect", 303, redirect=_with_query(flow.user_verify_url, params_out))
    hostfields.apply_api_config(account, given)
    apply_tokens(account, tokens, ctx.keyring, requested_scopes=_scopes(target), user_info=info)
    flow.status = "COMPLETED"
    flow.completed_at = utcnow()
    flow.secret_ct = None
    await _finish(session, ctx, flow, account, "connected_account.authorize")
    return done_page(name)


async def _fail(
    session: AsyncSession,
    flow: AuthFlow,
    account: ConnectedAccount,
    error: str,
    title: str,
    message: str,
) -> Page:
    """The flow ends; the account keeps what it had (a re-authorization leaves old tokens)."""
    flow.status = "FAILED"
    flow.error = error[:500]
    flow.secret_ct = None
    flow.completed_at = utcnow()
    await session.commit()
    return error_page(title, message, 400)


# ---------------------------------------------------------------------------- verification


async def verify_user(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> dict[str, Any]:
    body = parse_strict(VerifyRequest, raw)
    flow = await session.get(AuthFlow, body.auth_request_id)
    if flow is None or flow.environment_id != principal.environment_id:
        raise NotFound("no pending authorization with that auth_request_id")
    if flow.status != "PENDING_VERIFICATION":
        raise FailedPrecondition("this authorization request was already verified or is closed")
    if _expired(flow):
        raise FailedPrecondition("this authorization request has expired; send a new link")
    account = await account_store.by_id(session, flow.account_id)
    if account is None:
        raise NotFound("the connected account no longer exists")
    if not secrets.compare_digest(account.identifier, body.identifier):
        if await _claim(
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
    pending = json.loads(ctx.keyring.decrypt(flow.secret_ct or "", f"flow:{flow.id}"))
    if not await _claim(
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
    await commit_change(
        session,
        ctx,
        environment_id=flow.environment_id,
        actor=principal.actor,
        action="connected_account.verify",
        resource_type="connected_account",
        resource_id=account.id,
        before=None,
        after={"identifier": account.identifier, "status": "ACTIVE"},
    )
    return {"post_user_verify_redirect_url": f"{ctx.public_url}{LINK_PATH}done/{flow.id}"}


async def done(session: AsyncSession, ctx: ServiceContext, flow_id: str) -> Page:
    flow = await session.get(AuthFlow, flow_id)
    if flow is None or flow.status != "COMPLETED":
        return error_page("Not connected", "This authorization is not complete.", 404)
    _, target = await _flow_target(session, ctx, flow)
    return done_page(target.provider.definition.display_name)
