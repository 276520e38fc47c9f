"""MCP sign-in: how the environment's MCP users sign in (the login hand-off, whose new
secret is shown once, or an OpenID Connect provider) and which client registrations are
open, as `authrelay env login` sets them; the grants users gave MCP clients on the consent
page (filtered by user, revocable) and the clients of the environment's MCP authorization
server (disable, enable, delete). The same services as `authrelay env login`,
`/api/v1/mcp/oauth/…` and `authrelay mcp grants|clients`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.dashboard.web import PREFIX, EnvPage, PostedForm, field_errors
from authrelay.errors import AuthrelayError
from authrelay.mcp import grants, oauth_clients, oauth_settings
from authrelay.mcp.authserver import oidc_redirect_uri

router = APIRouter(prefix=PREFIX + "/{env}/mcp-oauth", include_in_schema=False)


async def _page(
    page: EnvPage, identifier: str = "", status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    env_id = page.environment.id
    listed = await grants.list_grants(page.session, env_id, identifier or None)
    found = await oauth_clients.list_clients(page.session, env_id)
    sign_in = await oauth_settings.load(page.session, page.runtime.keyring, env_id)
    await page.session.rollback()
    redirect_uri = oidc_redirect_uri(page.runtime.settings.base_url, env_id)
    return page.render(
        "mcp_oauth.html",
        status,
        grants=listed,
        clients=found,
        identifier=identifier,
        setting=oauth_settings.shown(sign_in, redirect_uri),  # never a secret
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


async def _refused(page: EnvPage, exc: AuthrelayError, values: dict[str, str]) -> Response:
    """Bad input: the page again with each error at its field and what was typed kept (but
    never a secret)."""
    await page.session.rollback()
    return await _page(
        page, status=exc.http_status, error=exc.message, values=values, errors=field_errors(exc)
    )


@router.get("")
async def mcp_oauth_page(page: EnvPage, identifier: str = "") -> Response:
    return await _page(page, identifier.strip())


@router.post("/grants/{grant_id}/revoke")
async def revoke_grant(grant_id: str, page: EnvPage, form: PostedForm) -> Response:
    try:
        await grants.revoke(page.session, page.runtime.invalidate, page.principal, grant_id)
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _page(page, status=HTTPStatus.NOT_FOUND, error=exc.message)
    return await _page(page, form.get("identifier"), notice=f"grant {grant_id} revoked")


@router.post("/clients/{client_id:path}/{action}")
async def change_client(client_id: str, action: str, page: EnvPage, form: PostedForm) -> Response:
    invalidate = page.runtime.invalidate
    try:
        if action == "delete":
            await oauth_clients.delete_client(page.session, page.principal, client_id, invalidate)
        elif action in ("disable", "enable"):
            await oauth_clients.set_disabled(
                page.session, page.principal, client_id, action == "disable", invalidate
            )
        else:
            return await _page(page, status=HTTPStatus.NOT_FOUND, error=f"no action {action!r}")
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _page(page, status=HTTPStatus.NOT_FOUND, error=exc.message)
    done = {"delete": "deleted", "disable": "disabled", "enable": "enabled"}[action]
    return await _page(page, notice=f"client {client_id} {done}")


@router.post("/sign-in/handoff")
async def set_handoff(page: EnvPage, form: PostedForm) -> Response:
    """Sign users in through the team's app: a new hand-off secret, shown only in this
    answer."""
    values = {"handoff_url": form.get("handoff_url").strip()}
    values["handoff_jwks_url"] = form.get("handoff_jwks_url").strip()
    try:
        secret = await oauth_settings.set_handoff(
            page.session,
            page.runtime.keyring,
            page.environment.id,
            values["handoff_url"],
            values["handoff_jwks_url"],
        )
    except AuthrelayError as exc:
        return await _refused(page, exc, values)
    return await _page(page, notice="login hand-off saved", handoff_secret=secret)


@router.post("/sign-in/handoff-jwks")
async def set_handoff_jwks(page: EnvPage, form: PostedForm) -> Response:
    """Only the JWKS URL of the hand-off (the secret is kept); empty turns JWTs off."""
    values = {"jwks_only_url": form.get("handoff_jwks_url").strip()}
    try:
        await oauth_settings.set_handoff_jwks(
            page.session, page.environment.id, values["jwks_only_url"]
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        errors = field_errors(exc)
        errors = {("jwks_only_url" if k == "handoff_jwks_url" else k): v for k, v in errors.items()}
        return await _page(
            page, status=exc.http_status, error=exc.message, values=values, errors=errors
        )
    return await _page(page, notice="hand-off JWKS URL saved")


@router.post("/sign-in/oidc")
async def set_oidc(page: EnvPage, form: PostedForm) -> Response:
    """Sign users in with an OpenID Connect provider; an empty client secret keeps the
    stored one."""
    values = {
        "oidc_issuer": form.get("oidc_issuer").strip(),
        "oidc_client_id": form.get("oidc_client_id").strip(),
        "identifier_claim": form.get("identifier_claim").strip(),
    }
    try:
        await oauth_settings.set_oidc(
            page.session,
            page.runtime.keyring,
            page.environment.id,
            issuer=values["oidc_issuer"],
            client_id=values["oidc_client_id"],
            client_secret=form.get("oidc_client_secret") or None,
            identifier_claim=values["identifier_claim"] or None,
        )
    except AuthrelayError as exc:
        return await _refused(page, exc, values)
    return await _page(page, notice="OpenID Connect sign-in saved")


@router.post("/sign-in/registration")
async def set_registration(page: EnvPage, form: PostedForm) -> Response:
    """The two registration switches (an unchecked box is off)."""
    await oauth_settings.set_registration(
        page.session,
        page.environment.id,
        dcr=form.get("dcr") == "on",
        cimd=form.get("cimd") == "on",
    )
    return await _page(page, notice="client registration saved")
