"""Connected-account routes (`/api/v1/connected_accounts`, SPEC §6)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse

from authrelay.accounts import service
from authrelay.api.deps import CurrentPrincipal, DbSession, RuntimeDep
from authrelay.errors import InvalidArgument
from authrelay.oauth import flows
from authrelay.request_body import read_json
from authrelay.store.accounts import AccountFilter
from authrelay_client.wire import ConnectedAccountResponse, EmptyBody, ListConnectedAccountsResponse

router = APIRouter(prefix="/api/v1", tags=["connected accounts"])
MAX_CONNECTION_NAMES = 20  # as Scalekit documents for ListConnectedAccounts


@router.get("/connected_accounts", response_model=None)
async def list_connected_accounts(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    organization_id: str | None = Query(None),
    user_id: str | None = Query(None),
    connector: str | None = Query(None),
    identifier: str | None = Query(None),
    provider: str | None = Query(None),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    query: str | None = Query(None),
    connection_names: list[str] | None = Query(None),
) -> ListConnectedAccountsResponse:
    names = [name for name in connection_names or [] if name]
    if names and connector:
        raise InvalidArgument.field(
            "connection_names", "cannot be combined with connector; use one or the other"
        )
    if len(names) > MAX_CONNECTION_NAMES:
        raise InvalidArgument.field(
            "connection_names", f"at most {MAX_CONNECTION_NAMES} names per request"
        )
    if connector:
        names = [connector]
    ids = await service.connection_ids(session, principal, names) if names else None
    filters = AccountFilter(
        connection_ids=ids,
        identifier=identifier or None,
        provider=provider or None,
        organization_id=organization_id or None,
        user_id=user_id or None,
        query=query or None,
    )
    return await service.list_accounts(
        session,
        principal,
        runtime.services,
        filters,
        page_size=page_size,
        page_token=page_token,
        last_used=runtime.last_used.get,
    )


@router.get("/connected_accounts:search", response_model=None)
async def search_connected_accounts(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    query: str | None = Query(None),
    page_size: str | None = Query(None),
    page_token: str | None = Query(None),
    connection_id: str | None = Query(None),
) -> ListConnectedAccountsResponse:
    ids = (
        await service.connection_ids(session, principal, [connection_id]) if connection_id else None
    )
    filters = AccountFilter(connection_ids=ids, query=query or None)
    return await service.list_accounts(
        session,
        principal,
        runtime.services,
        filters,
        page_size=page_size,
        page_token=page_token,
        last_used=runtime.last_used.get,
    )


@router.post("/connected_accounts")
async def create_connected_account(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> JSONResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    body = await service.create_account(session, principal, runtime.services, raw)
    return JSONResponse({"connected_account": body}, status_code=HTTPStatus.CREATED)


@router.put("/connected_accounts", response_model=None)
async def update_connected_account(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ConnectedAccountResponse:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return {
        "connected_account": await service.update_account(session, principal, runtime.services, raw)
    }


@router.post("/connected_accounts:delete", response_model=None)
async def delete_connected_account(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> EmptyBody:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    await service.delete_account(session, principal, runtime.services, raw)
    return {}


async def _lookup(
    runtime: Any,
    session: Any,
    principal: Any,
    reveal: bool,
    id: str | None,
    connector: str | None,
    identifier: str | None,
) -> ConnectedAccountResponse:
    return await service.get_account(
        session,
        principal,
        runtime.services,
        account_id=id,
        connector=connector,
        identifier=identifier,
        reveal=reveal,
        last_used=runtime.last_used.get,
    )


@router.get("/connected_accounts/auth", response_model=None)
async def connected_account_auth(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    organization_id: str | None = Query(None),
    user_id: str | None = Query(None),
    connector: str | None = Query(None),
    identifier: str | None = Query(None),
    id: str | None = Query(None),
) -> ConnectedAccountResponse:
    return await _lookup(runtime, session, principal, True, id, connector, identifier)


@router.get("/connected_accounts/details", response_model=None)
async def connected_account_details(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
    organization_id: str | None = Query(None),
    user_id: str | None = Query(None),
    connector: str | None = Query(None),
    identifier: str | None = Query(None),
    id: str | None = Query(None),
) -> ConnectedAccountResponse:
    return await _lookup(runtime, session, principal, False, id, connector, identifier)


@router.post("/connected_accounts/magic_link")
async def magic_link(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> dict[str, Any]:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await flows.create_magic_link(
        session, principal, runtime.services, raw, runtime.settings.link_ttl_seconds
    )


@router.post("/connected_accounts/user/verify")
async def verify_user(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> dict[str, Any]:
    raw = await read_json(request, runtime.settings.max_body_bytes)
    return await flows.verify_user(session, principal, runtime.services, raw)


# Declared after /auth and /details, which it would match.
@router.get("/connected_accounts/{account_id}", response_model=None)
async def get_connected_account(
    account_id: str, principal: CurrentPrincipal, runtime: RuntimeDep, session: DbSession
) -> ConnectedAccountResponse:
    return await _lookup(runtime, session, principal, False, account_id, None, None)


@router.post("/connected_accounts/{account_id}:disconnect", response_model=None)
async def disconnect_connected_account(
    account_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: DbSession,
) -> ConnectedAccountResponse:
    # "-" is Scalekit's "named in the body" form: {id} or {connector, identifier}.
    if account_id == "-":
        raw = await read_json(request, runtime.settings.max_body_bytes)
        return await service.disconnect_account(session, principal, runtime.services, None, raw)
    return await service.disconnect_account(session, principal, runtime.services, account_id)
