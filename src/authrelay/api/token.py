"""`POST /oauth/token` (RFC 6749 §4.4 client credentials) and `GET /keys` (JWKS)."""

from __future__ import annotations

import base64
import binascii
import secrets
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from authrelay.api.deps import DbSession, RuntimeDep, request_host
from authrelay.auth.client_secrets import verify_secret
from authrelay.errors import AuthrelayError, IncompleteRequest
from authrelay.request_body import parse_form, parse_json, read_body
from authrelay.store.environments import environment_by_host, get_client

router = APIRouter(tags=["auth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(
    error: str, description: str, status: int = HTTPStatus.BAD_REQUEST, **headers: str
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**_NO_STORE, **headers},
    )


async def _form(request: Request, max_bytes: int) -> dict[str, str] | JSONResponse:
    try:
        raw = await read_body(request, max_bytes)
    except IncompleteRequest:
        raise  # nobody to answer: logged as a disconnect, not as a bad request
    except AuthrelayError as exc:
        return _oauth_error("invalid_request", exc.message, exc.http_status, **exc.headers)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    json_body = content_type == "application/json" or content_type.endswith("+json")
    try:
        data: Any = parse_json(raw) if json_body else parse_form(raw)
    except AuthrelayError as exc:
        return _oauth_error("invalid_request", exc.message)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return _oauth_error("invalid_request", "the JSON body must be an object of strings")
    return data  # both parsers refused NUL characters


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/oauth/token")
async def issue_token(request: Request, runtime: RuntimeDep, session: DbSession) -> JSONResponse:
    form = await _form(request, runtime.settings.max_body_bytes)
    if isinstance(form, JSONResponse):
        return form
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic is not None and (
        "client_secret" in form or ("client_id" in form and basic[0] != form["client_id"])
    ):
        return _oauth_error(
            "invalid_request", "use one client authentication method, not both Basic and body"
        )
    grant_type = form.get("grant_type")
    if not grant_type:
        return _oauth_error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error(
            "unsupported_grant_type", "only the client_credentials grant is supported"
        )
    client_id, client_secret = (
        basic
        if basic is not None
        else (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
    )
    if not client_id or not client_secret:
        return _oauth_error("invalid_request", "client_id and client_secret are required")
    challenge = {"WWW-Authenticate": 'Basic realm="authrelay"'} if basic is not None else {}
    client = await get_client(session, client_id)
    if client is None or not verify_secret(client_secret, client.secret_hash):
        return _oauth_error(
            "invalid_client", "client authentication failed", HTTPStatus.UNAUTHORIZED, **challenge
        )
    bound = await environment_by_host(session, request_host(request))
    if bound is not None and bound.id != client.environment_id:
        return _oauth_error(
            "invalid_client",
            "this client belongs to another environment",
            HTTPStatus.UNAUTHORIZED,
            **challenge,
        )
    token, expires_in = runtime.tokens.issue(
        client.environment_id, client.id, secrets.token_hex(16)
    )
    return JSONResponse(
        {"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
        headers=_NO_STORE,
    )


@router.get("/keys")
@router.get("/.well-known/jwks.json", include_in_schema=False)
async def jwks(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(
        {"keys": runtime.tokens.keys.jwks}, headers={"Cache-Control": "public, max-age=300"}
    )
