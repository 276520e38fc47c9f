"""Sign-in and sign-out."""

from __future__ import annotations

import secrets
from http import HTTPStatus

from fastapi import APIRouter, Request
from starlette.responses import Response

from authrelay.api.deps import DbSession, RuntimeDep
from authrelay.dashboard import users
from authrelay.dashboard.passwords import SigninsBusy
from authrelay.dashboard.web import (
    COOKIE,
    PREFIX,
    CurrentUser,
    PostedForm,
    redirect,
    render,
    safe_next,
    secure,
)
from authrelay.store import environments as envs

router = APIRouter(prefix=PREFIX, include_in_schema=False)
EXPIRED = "The sign-in form had expired; please sign in again."
WRONG = "The email or the password is not right, or there were too many failed attempts."
BUSY = "Too many sign-ins are being checked at once; please try again in a moment."


SIGNIN_COOKIE = "authrelay_dashboard_signin"


def _signin_form(
    runtime: RuntimeDep, target: str, email: str = "", error: str = "", status: int = HTTPStatus.OK
) -> Response:
    """The sign-in page. Its form carries a token that must match a cookie set here, so
    another site cannot sign a browser in to an account of its choosing."""
    token = secrets.token_urlsafe(24)
    response = render(
        "signin.html", status, next=target, email=email, error=error, signin_token=token
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(runtime),
        path=f"{PREFIX}/signin",
    )
    return response


@router.get("/signin")
async def signin_page(runtime: RuntimeDep, next: str | None = None) -> Response:
    return _signin_form(runtime, safe_next(next))


@router.post("/signin")
async def signin(request: Request, runtime: RuntimeDep, session: DbSession) -> Response:
    data = await request.form()
    email = str(data.get("email", ""))
    password = str(data.get("password", ""))
    target = safe_next(str(data.get("next", "")))
    sent, expected = str(data.get("signin_token", "")), request.cookies.get(SIGNIN_COOKIE, "")
    if not sent or not secrets.compare_digest(sent.encode(), expected.encode()):
        return _signin_form(runtime, target, email[:400], EXPIRED, HTTPStatus.FORBIDDEN)
    s = runtime.settings
    limits = users.SigninLimits(
        s.dashboard_signin_max_failures,
        s.dashboard_signin_address_max_failures,
        s.dashboard_signin_window_seconds,
    )
    address = request.client.host if request.client else "unknown"
    try:
        token = await users.sign_in(
            session,
            runtime.passwords,
            email[:400],
            password[:1024],
            address,
            limits,
            request.cookies.get(COOKIE),
        )
    except SigninsBusy:
        busy = _signin_form(runtime, target, email[:400], BUSY, HTTPStatus.SERVICE_UNAVAILABLE)
        busy.headers["Retry-After"] = "1"
        return busy
    if token is None:
        return _signin_form(runtime, target, email[:400], WRONG, HTTPStatus.UNAUTHORIZED)
    response = redirect(target)
    response.delete_cookie(SIGNIN_COOKIE, path=f"{PREFIX}/signin")
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=secure(runtime), path=PREFIX
    )
    return response


@router.post("/signout")
async def signout(
    request: Request, user: CurrentUser, form: PostedForm, session: DbSession
) -> Response:
    await users.sign_out(session, request.cookies.get(COOKIE))
    response = redirect(f"{PREFIX}/signin")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("")
@router.get("/")
async def start(user: CurrentUser, session: DbSession) -> Response:
    environments = await envs.list_environments(session)
    first = environments[0].name if environments else "dev"
    return redirect(f"{PREFIX}/{first}/")
