"""Routes of the hosted pages. Plain HTML that works without JavaScript."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authrelay.api.deps import DbSession, RuntimeDep
from authrelay.oauth import flows
from authrelay.oauth.flows import LINK_PATH, Page
from authrelay.request_body import parse_form, read_body

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=PackageLoader("authrelay.web", "templates"), autoescape=select_autoescape(["html"])
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def render(page: Page, secure: bool) -> Response:
    if page.redirect is not None:
        response: Response = RedirectResponse(page.redirect, status_code=page.status)
    else:
        html = templates.get_template(page.template).render(**page.context)
        response = HTMLResponse(html, status_code=page.status)
    response.headers.update(SECURITY_HEADERS)
    for name, value in page.cookies.items():
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="strict",
            secure=secure,
            path=f"{LINK_PATH}flow/",
            max_age=3600,
        )
    return response


def page_error(message: str, status: int) -> Response:
    """A hosted page saying why it cannot go on."""
    return render(
        Page(
            "message.html",
            status,
            {"title": "This cannot continue", "message": message, "ok": False},
        ),
        False,
    )


def _secure(runtime: Any) -> bool:
    return str(runtime.settings.base_url).startswith("https://")


@router.get(LINK_PATH + "done/{flow_id}")
async def done(flow_id: str, runtime: RuntimeDep, session: DbSession) -> Response:
    return render(await flows.done(session, runtime.services, flow_id), _secure(runtime))


@router.get(LINK_PATH + "{token}")
async def open_link(token: str, runtime: RuntimeDep, session: DbSession) -> Response:
    page = await flows.open_link(
        session, runtime.services, token, runtime.settings.link_ttl_seconds
    )
    return render(page, _secure(runtime))


@router.post(LINK_PATH + "flow/{flow_id}")
async def submit(
    flow_id: str, request: Request, runtime: RuntimeDep, session: DbSession
) -> Response:
    form = parse_form(await read_body(request, 65536))
    cookie = request.cookies.get(f"authrelay_csrf_{flow_id}")
    page = await flows.submit_form(session, runtime.services, flow_id, form, cookie)
    return render(page, _secure(runtime))


@router.get("/oauth/callback")
async def callback(request: Request, runtime: RuntimeDep, session: DbSession) -> Response:
    params = {k: v for k, v in request.query_params.items()}
    page = await flows.callback(
        session, runtime.services, runtime.http, params, runtime.settings.link_ttl_seconds
    )
    return render(page, _secure(runtime))
