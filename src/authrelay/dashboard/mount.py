"""Adds the dashboard to the app: its routers, static files and error pages."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from authrelay.dashboard import (
    pages_accounts,
    pages_auth,
    pages_connections,
    pages_home,
    pages_mcp_oauth,
    pages_providers,
    pages_tools,
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
from authrelay.errors import AuthrelayError

__all__ = ["install"]


async def _to_signin(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect(signin_location(exc.next_path))


async def _csrf(request: Request, exc: Exception) -> Response:
    return render(
        "message.html",
        HTTPStatus.FORBIDDEN,
        title="The form has expired",
        message="This form was not sent from a current dashboard page. Go back, reload the "
        "page and try again.",
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageNotFound)
    return render("message.html", HTTPStatus.NOT_FOUND, title="Not found", message=exc.message)


def _as_page(previous: Any) -> Any:
    """Errors under /dashboard become pages (the rest of the app keeps its JSON envelope):
    a bad page token in a link, an unknown path."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX + "/"):
            return cast(Response, await previous(request, exc))
        if isinstance(exc, AuthrelayError):
            status, message = exc.http_status, exc.message
            return render("message.html", status, title="Not possible", message=message)
        status = (
            exc.status_code
            if isinstance(exc, StarletteHTTPException)
            else HTTPStatus.INTERNAL_SERVER_ERROR
        )
        title = "Not found" if status == HTTPStatus.NOT_FOUND else "Something went wrong"
        return render("message.html", status, title=title, message="")

    return handler


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, static files and error pages to the app (after the API's
    error handlers, which it wraps for dashboard paths)."""
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("authrelay.dashboard", "static")]),
        name="dashboard-static",
    )
    pages = (pages_auth, pages_home, pages_providers, pages_connections, pages_accounts)
    for module in (*pages, pages_tools, pages_mcp_oauth):
        app.include_router(module.router)
    app.add_exception_handler(SignInRequired, _to_signin)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(PageNotFound, _not_found)
    for kind in (AuthrelayError, StarletteHTTPException):
        app.add_exception_handler(kind, _as_page(app.exception_handlers[kind]))
