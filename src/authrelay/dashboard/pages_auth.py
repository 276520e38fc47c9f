"""Sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from authrelay.api.deps import DbSession, RuntimeDep
from authrelay.dashboard import users
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
WRONG = "The email or the password is not right, or there were too many failed attempts."


@router.get("/signin")
async def signin_page(next: str | None = None) -> Response:
    return render("signin.html", next=safe_next(next), email="", error="")


@router.post("/signin")
async def signin(request: Request, runtime: RuntimeDep, session: DbSession) -> Response:
    data = await request.form()
    email = str(data.get("email", ""))
    password = str(data.get("password", ""))
    target = safe_next(str(data.get("next", "")))
    s = runtime.settings
    limits = users.SigninLimits(
        s.dashboard_signin_max_failures,
        s.dashboard_signin_address_max_failures,
        s.dashboard_signin_window_seconds,
    )
    address = request.client.host if request.client else "unknown"
    token = await users.sign_in(
        session, email[:400], password[:1024], address, limits, request.cookies.get(COOKIE)
    )
    if token is None:
        return render("signin.html", 401, next=target, email=email[:400], error=WRONG)
    response = redirect(target)
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
