"""The MCP authorization server's routes (docs/mcp-authorization.md): metadata, authorize,
the login hand-off's return, token, registration, revocation. Thin: parse, call
`mcp.authserver` / `mcp.oauth_clients`, answer in OAuth's terms (`mcp.oauth_errors`)."""

from __future__ import annotations

import html
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep, request_host
from authrelay.errors import AuthrelayError, InvalidArgument, NotFound
from authrelay.mcp import authserver, grants, oauth_clients, oauth_settings
from authrelay.mcp.oauth_errors import AuthorizePageError, AuthorizeRedirectError, OAuthError
from authrelay.request_body import parse_json, read_body, read_json
from authrelay.runtime import Runtime
from authrelay.store import AsyncSession
from authrelay.store.environments import environment_by_host, get_environment

router = APIRouter(tags=["mcp-oauth"], include_in_schema=False)
_AS = "/.well-known/oauth-authorization-server"
_OIDC = "/.well-known/openid-configuration"
_BASE = authserver.ISSUER_PATH + "{env_id}"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Browser-based MCP clients (MCP Inspector) call metadata, registration, token and revocation
# from their page: any origin may, without credentials (clients are public; PKCE and the
# code are their proof, no cookie is involved).
_CORS = {"Access-Control-Allow-Origin": "*"}
_PREFLIGHT = {
    **_CORS,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
    "Access-Control-Max-Age": "600",
}
_API = {**_NO_STORE, **_CORS}
_FORM_MAX = 16_384


def server_parts(runtime: Runtime) -> authserver.AuthServerParts:
    """What the authorization server uses of the running server (also the consent page's)."""
    return authserver.AuthServerParts(
        runtime.keyring,
        runtime.tokens.keys,
        runtime.http,
        runtime.settings.base_url,
        runtime.remote_docs,
    )


async def _environment(session: AsyncSession, env_id: str) -> str:
    env = await get_environment(session, env_id)
    if env is None or env.id != env_id:
        raise NotFound(f"no environment {env_id!r}")
    return env.id


def _oauth_json(exc: OAuthError) -> JSONResponse:
    headers = dict(_API)
    if exc.status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_client"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body; a parameter sent twice is refused
    (RFC 6749 §3.2)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send application/x-www-form-urlencoded")
    raw = await read_body(request, _FORM_MAX)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the body is not UTF-8") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"parameter {key!r} sent more than once")
        form[key] = value
    return form


async def _metadata(runtime: Runtime, session: AsyncSession, env_id: str) -> JSONResponse:
    document = runtime.as_metadata.get(env_id)
    if document is None:
        sign_in = await oauth_settings.registration(session, env_id)  # one query, no secrets
        if sign_in is None:
            raise NotFound(f"no environment {env_id!r}")
        document = authserver.metadata(runtime.settings.base_url, env_id, sign_in)
        runtime.as_metadata.put(env_id, document)
    return JSONResponse(document, headers=_CORS)


@router.get(_AS + _BASE)
@router.get(_OIDC + _BASE)
@router.get(_BASE + _OIDC)
async def environment_metadata(env_id: str, runtime: RuntimeDep, session: DbSession) -> Response:
    """RFC 8414 metadata of an environment's issuer (and the OpenID paths clients try)."""
    return await _metadata(runtime, session, env_id)


@router.get(_AS)
@router.get(_OIDC)
async def host_metadata(request: Request, runtime: RuntimeDep, session: DbSession) -> Response:
    """The metadata of the environment bound to the request's host, if one is."""
    bound = await environment_by_host(session, request_host(request))
    if bound is None:
        raise NotFound("no environment is bound to this host; use the issuer's own path")
    return await _metadata(runtime, session, bound.id)


@router.get(_BASE + "/authorize")
async def authorize(
    env_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    env_id = await _environment(session, env_id)
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            return _page(AuthorizePageError(f"parameter {key!r} sent more than once"))
        params[key] = value
    try:
        target = await authserver.authorize(session, server_parts(runtime), env_id, params)
    except AuthorizePageError as exc:
        return _page(exc)
    except AuthorizeRedirectError as exc:
        values = {"error": exc.error, "error_description": exc.description, "state": exc.state}
        values["iss"] = authserver.issuer(runtime.settings.base_url, env_id)
        return RedirectResponse(authserver.redirect_with(exc.redirect_uri, values), 302)
    return RedirectResponse(target, 302, headers=_NO_STORE)


@router.get(_BASE + "/handoff")
async def handoff_return(
    env_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    """Where the team's app sends the signed-in user back (`?assertion=…`)."""
    env_id = await _environment(session, env_id)
    assertion = request.query_params.get("assertion", "")
    try:
        step = await authserver.handoff_return(session, server_parts(runtime), env_id, assertion)
    except AuthorizePageError as exc:
        return _page(exc)
    return _next(runtime, env_id, step)


def _next(runtime: Runtime, env_id: str, step: authserver.Next) -> Response:
    """The redirect after a sign-in, with the consent page's cookie when it comes next."""
    response = RedirectResponse(step.url, 302, headers=_NO_STORE)
    if step.cookie is not None:  # the consent page's: this browser's, for this authorization
        name, value = step.cookie
        response.set_cookie(
            name,
            value,
            max_age=int(authserver.REQUEST_LIFETIME.total_seconds()),
            path=authserver.ISSUER_PATH + env_id,
            secure=runtime.settings.base_url.startswith("https://"),
            httponly=True,
            samesite="lax",  # sent on the top-level GET coming back from the sign-in
        )
    return response


@router.get(_BASE + "/oidc/callback")
async def oidc_return(
    env_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    """Where the environment's OpenID Connect provider sends the user back (`?code&state`)."""
    env_id = await _environment(session, env_id)
    params = {k: request.query_params.get(k, "") for k in ("code", "state", "error")}
    try:
        step = await authserver.oidc_return(session, server_parts(runtime), env_id, params)
    except AuthorizePageError as exc:
        return _page(exc)
    return _next(runtime, env_id, step)


@router.post(_BASE + "/token")
async def token(env_id: str, request: Request, runtime: RuntimeDep, session: DbSession) -> Response:
    env_id = await _environment(session, env_id)
    try:
        answer = await authserver.token(
            session, server_parts(runtime), env_id, await _form(request)
        )
    except OAuthError as exc:
        return _oauth_json(exc)
    return JSONResponse(answer, headers=_API)


@router.post(_BASE + "/revoke")
async def revoke(env_id: str, request: Request, session: DbSession) -> Response:
    env_id = await _environment(session, env_id)
    try:
        await authserver.revoke(session, env_id, await _form(request))
    except OAuthError as exc:
        return _oauth_json(exc)
    return Response(status_code=HTTPStatus.OK, headers=_API)


@router.post(_BASE + "/register")
async def register(env_id: str, request: Request, session: DbSession) -> Response:
    """RFC 7591 dynamic client registration, when the environment allows it."""
    sign_in = await oauth_settings.registration(session, env_id)  # one query, no decryption
    if sign_in is None:
        raise NotFound(f"no environment {env_id!r}")
    try:
        if not sign_in.dcr_enabled:
            raise OAuthError(
                "access_denied",
                "dynamic client registration is off in this environment",
                HTTPStatus.FORBIDDEN,
            )
        try:
            raw: Any = parse_json(await read_body(request, _FORM_MAX))
        except AuthrelayError as exc:
            raise OAuthError("invalid_client_metadata", exc.message) from None
        answer = await oauth_clients.register(session, env_id, raw)
    except OAuthError as exc:
        return _oauth_json(exc)
    return JSONResponse(answer, status_code=HTTPStatus.CREATED, headers=_API)


@router.options(_AS + _BASE)
@router.options(_OIDC + _BASE)
@router.options(_BASE + _OIDC)
@router.options(_AS)
@router.options(_OIDC)
@router.options(_BASE + "/token")
@router.options(_BASE + "/register")
@router.options(_BASE + "/revoke")
async def preflight() -> Response:
    """CORS preflight of the endpoints a browser-based client calls."""
    return Response(status_code=HTTPStatus.NO_CONTENT, headers=_PREFLIGHT)


def _page(exc: AuthorizePageError) -> HTMLResponse:
    text = html.escape(exc.description)
    body = (
        "<!doctype html><meta charset=utf-8><title>Sign-in failed</title>"
        f"<h1>This sign-in cannot continue</h1><p>{text}</p>"
    )
    return HTMLResponse(body, status_code=exc.status, headers=_NO_STORE)


# The registered clients, for the team (API token of the environment).
_CLIENTS = "/api/v1/mcp/oauth/clients"


@router.get(_CLIENTS)
async def list_clients(principal: CurrentPrincipal, session: DbSession) -> Response:
    found = await oauth_clients.list_clients(session, principal.environment_id)
    return JSONResponse({"clients": found})


@router.post(_CLIENTS)
async def create_client(
    principal: CurrentPrincipal, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    """A pre-registered client: `{client_name, redirect_uris}`."""
    raw = await read_json(request, runtime.settings.max_body_bytes)
    made = await oauth_clients.preregister(session, principal, raw)
    return JSONResponse({"client": made}, status_code=HTTPStatus.CREATED)


@router.patch(_CLIENTS + "/{client_id:path}")
async def update_client(
    client_id: str,
    principal: CurrentPrincipal,
    request: Request,
    runtime: RuntimeDep,
    session: DbSession,
) -> Response:
    """`{"disabled": true}` disables a client (and ends its grants); false enables it."""
    raw = await read_json(request, runtime.settings.max_body_bytes)
    if (
        not isinstance(raw, dict)
        or set(raw) != {"disabled"}
        or not isinstance(raw["disabled"], bool)
    ):
        raise InvalidArgument.field("disabled", 'send {"disabled": true|false}')
    changed = await oauth_clients.set_disabled(
        session, principal, client_id, raw["disabled"], runtime.invalidate
    )
    return JSONResponse({"client": changed})


@router.delete(_CLIENTS + "/{client_id:path}")
async def delete_client(
    client_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> Response:
    await oauth_clients.delete_client(session, principal, client_id, runtime.invalidate)
    return JSONResponse({})


# What users allowed MCP clients (the consent page's grants), for the team.
_GRANTS = "/api/v1/mcp/oauth/grants"


@router.get(_GRANTS)
async def list_grants(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> Response:
    """`?identifier=…` one user's; `?include_revoked=true` revoked ones too."""
    identifier = request.query_params.get("identifier") or None
    revoked = request.query_params.get("include_revoked", "false").lower()
    if revoked not in ("true", "false"):
        raise InvalidArgument.field("include_revoked", "must be true or false")
    found = await grants.list_grants(
        session, principal.environment_id, identifier, revoked == "true"
    )
    return JSONResponse({"grants": found})


@router.delete(_GRANTS + "/{grant_id}")
async def revoke_grant(
    grant_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> Response:
    """Revoke a grant: its refresh tokens end now, its access tokens at their next use."""
    ended = await grants.revoke(session, runtime.invalidate, principal, grant_id)
    return JSONResponse({"grant": ended})
