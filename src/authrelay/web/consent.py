"""The MCP consent page (docs/mcp-authorization.md, "Consent and grants"): after the team's
app signed the user in, it shows which client asks, as whom, for which MCP config and tools,
and the user's account on each connection with a button to connect the missing ones (the
hosted connect flow, which comes back here). Allow issues the code, Deny `access_denied`.

The page is bound to the browser that signed in: a cookie holds the authorization's token
(only its hash is stored), and each form carries it too (CSRF). Never framed."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authrelay.api.deps import DbSession, RuntimeDep
from authrelay.api.mcp_oauth import server_parts
from authrelay.mcp import authserver
from authrelay.mcp.oauth_errors import AuthorizePageError
from authrelay.request_body import parse_form, read_body
from authrelay.web.routes import SECURITY_HEADERS, page_error, templates

router = APIRouter(include_in_schema=False)
_PATH = authserver.ISSUER_PATH + "{env_id}/consent/{request_id}"
_FORM_MAX = 16_384


def _origin(url: str) -> str:
    """A CSP source for the client's redirect URI (the form's answer redirects there, and
    browsers hold a form's redirects to `form-action`)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def _headers(redirect_uri: str) -> dict[str, str]:
    headers = dict(SECURITY_HEADERS)
    headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https:; "
        f"form-action 'self' {_origin(redirect_uri)}; frame-ancestors 'none'; base-uri 'none'"
    )
    return headers


def _cookie(request: Request) -> str:
    return request.cookies.get(authserver.CONSENT_COOKIE, "")


@router.get(_PATH)
async def consent(
    env_id: str, request_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    parts = server_parts(runtime)
    try:
        waiting, view = await authserver.consent_page(
            session, parts, env_id, request_id, _cookie(request)
        )
    except AuthorizePageError as exc:
        return page_error(exc.description, exc.status)
    url = authserver.consent_url(runtime.settings.base_url, env_id, request_id)
    html = templates.get_template("consent.html").render(
        title=f"Allow {view.client_name}?",
        view=view,
        csrf=_cookie(request),
        action=url,
        connect_action=f"{url}/connect",
    )
    return HTMLResponse(html, headers=_headers(waiting.redirect_uri))


async def _form(request: Request) -> dict[str, str]:
    return parse_form(await read_body(request, _FORM_MAX))


@router.post(_PATH)
async def decide(
    env_id: str, request_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    """Allow or Deny (`decision`), with the form's `csrf_token`."""
    try:
        target = await authserver.decide(
            session,
            server_parts(runtime),
            runtime.invalidate,
            env_id,
            request_id,
            _cookie(request),
            await _form(request),
        )
    except AuthorizePageError as exc:
        return page_error(exc.description, exc.status)
    response = RedirectResponse(target, HTTPStatus.SEE_OTHER, headers=SECURITY_HEADERS)
    response.delete_cookie(authserver.CONSENT_COOKIE, path=authserver.ISSUER_PATH + env_id)
    return response


@router.post(_PATH + "/connect")
async def connect(
    env_id: str, request_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    """Start the hosted connect flow of one connection (`connection`) for the signed-in
    user; it returns to the consent page."""
    try:
        link = await authserver.connect_link(
            session,
            server_parts(runtime),
            runtime.services,
            env_id,
            request_id,
            _cookie(request),
            await _form(request),
            runtime.settings.link_ttl_seconds,
        )
    except AuthorizePageError as exc:
        return page_error(exc.description, exc.status)
    return RedirectResponse(link, HTTPStatus.SEE_OTHER, headers=SECURITY_HEADERS)
