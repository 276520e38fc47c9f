"""One place that turns every failure into the SPEC §2 envelope."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse

from authrelay.errors import (
    AuthrelayError,
    ClientClosedRequest,
    FieldViolation,
    InternalError,
    InvalidArgument,
)
from authrelay.providers.validation import format_loc
from authrelay_client.codes import Code

log = logging.getLogger("authrelay.api")


def error_response(exc: AuthrelayError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers)


async def _authrelay_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthrelayError)
    return error_response(exc)


async def _client_disconnect(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's ClientDisconnect from a body read outside `read_body`: the client left."""
    return error_response(ClientClosedRequest("the client closed the connection"))


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    violations = []
    for error in exc.errors():
        loc = tuple(p for p in error.get("loc", ()) if p not in {"query", "path", "header", "body"})
        violations.append(FieldViolation(format_loc(loc) or "request", str(error.get("msg"))))
    return error_response(InvalidArgument.from_violations(violations))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = int(Code.for_http_status(exc.status_code))
    message = "no such route" if exc.status_code == HTTPStatus.NOT_FOUND else str(exc.detail)
    return JSONResponse(
        {"code": code, "message": message, "details": []},
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"method": request.method, "path": request.url.path},
    )
    return error_response(InternalError("internal error; the server log has details"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(AuthrelayError, _authrelay_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
