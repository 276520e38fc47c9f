"""Adds the dashboard to the app: its routers, static files and error pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from authrelay.dashboard import (
    pages_accounts,
    pages_auth,
    pages_connections,
    pages_home,
    pages_providers,
)
from authrelay.dashboard.web import (
    PREFIX,
    CsrfRejected,
    PageNotFound,
    SignInRequired,
    redirect,
    render,
    signin_location,
)

__all__ = ["install"]


async def _to_signin(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect(signin_location(exc.next_path))


async def _csrf(request: Request, exc: Exception) -> Response:
    return render(
        "message.html",
        403,
        title="The form has expired",
        message="This form was not sent from a current dashboard page. Go back, reload the "
        "page and try again.",
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageNotFound)
    return render("message.html", 404, title="Not found", message=exc.message)


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, static files and error pages to the app."""
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("authrelay.dashboard", "static")]),
        name="dashboard-static",
    )
    for module in (pages_auth, pages_home, pages_providers, pages_connections, pages_accounts):
        app.include_router(module.router)
    app.add_exception_handler(SignInRequired, _to_signin)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(PageNotFound, _not_found)
