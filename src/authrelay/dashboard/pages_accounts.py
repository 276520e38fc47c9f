"""Connected accounts: filters, status and last use, details without secrets, authorization
links to copy, disconnect and delete."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.accounts import service
from authrelay.connections import service as connections
from authrelay.dashboard.pages_home import STATUSES
from authrelay.dashboard.web import PREFIX, EnvPage, Page, PageNotFound, PostedForm, field_errors
from authrelay.dashboard.web import redirect as see_other
from authrelay.errors import AuthrelayError, NotFound
from authrelay.oauth import flows
from authrelay.store.accounts import AccountFilter
from authrelay_client.wire import ConnectionBody

router = APIRouter(prefix=PREFIX + "/{env}/accounts", include_in_schema=False)
MAX_CONNECTION_PAGES = 100  # 3,000 connections in the choices


async def _connection_names(page: Page) -> list[ConnectionBody]:
    """Every connection of the environment (page by page), for the filter and link forms."""
    found: list[ConnectionBody] = []
    token: str | None = None
    for _ in range(MAX_CONNECTION_PAGES):
        listed = await connections.list_connections(
            page.session,
            page.principal,
            page.runtime.services,
            page_size=None,
            page_token=token,
            provider=None,
            query=None,
        )
        found.extend(listed["connections"])
        token = listed["next_page_token"] or None
        if token is None:
            break
    return found


async def _list_page(
    page: Page, filters: dict[str, str], page_token: str, status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    ids = None
    if filters["connector"]:
        ids = await service.connection_ids(page.session, page.principal, [filters["connector"]])
    listed = await service.list_accounts(
        page.session,
        page.principal,
        page.runtime.services,
        AccountFilter(
            connection_ids=ids,
            identifier=filters["identifier"] or None,
            status=filters["status"] or None,
        ),
        page_size="50",
        page_token=page_token or None,
        last_used=page.runtime.last_used.get,
    )
    accounts = listed["connected_accounts"]
    created = await service.created_times(page.session, page.principal, [a["id"] for a in accounts])
    return page.render(
        "accounts.html",
        status,
        accounts=accounts,
        created=created,
        total=listed["total_size"],
        next=listed["next_page_token"],
        filters=filters,
        statuses=STATUSES,
        connections=await _connection_names(page),
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("")
async def accounts_page(
    page: EnvPage, connector: str = "", status: str = "", identifier: str = "", page_token: str = ""
) -> Response:
    filters = {"connector": connector, "status": status, "identifier": identifier.strip()}
    return await _list_page(page, filters, page_token)


def _link_error(exc: AuthrelayError) -> dict[str, str]:
    errors = field_errors(exc)
    if "" in errors and len(errors) == 1:
        return {"connector": errors[""]}
    return errors


@router.post("/link")
async def new_link(page: EnvPage, form: PostedForm) -> Response:
    values = {"connector": form.get("connector"), "identifier": form.get("identifier").strip()}
    empty = {"connector": "", "status": "", "identifier": ""}
    try:
        link = await flows.create_magic_link(
            page.session,
            page.principal,
            page.runtime.services,
            {k: v for k, v in values.items() if v},
            page.runtime.settings.link_ttl_seconds,
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _list_page(
            page, empty, "", HTTPStatus.BAD_REQUEST, values=values, errors=_link_error(exc)
        )
    return await _list_page(page, empty, "", values=values, link=link)


async def _detail(
    page: Page, account_id: str, status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    try:
        found = await service.get_account(
            page.session,
            page.principal,
            page.runtime.services,
            account_id=account_id,
            connector=None,
            identifier=None,
            reveal=False,
            last_used=page.runtime.last_used.get,
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    account = found["connected_account"]
    created = await service.created_times(page.session, page.principal, [account["id"]])
    return page.render(
        "account.html", status, account=account, created=created.get(account["id"], ""), **extra
    )


@router.get("/{account_id}")
async def account_page(page: EnvPage, account_id: str, saved: str = "") -> Response:
    return await _detail(page, account_id, notice="Saved." if saved else "")


@router.post("/{account_id}/link")
async def account_link(page: EnvPage, account_id: str, form: PostedForm) -> Response:
    try:
        link = await flows.create_magic_link(
            page.session,
            page.principal,
            page.runtime.services,
            {"id": account_id},
            page.runtime.settings.link_ttl_seconds,
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _detail(page, account_id, HTTPStatus.BAD_REQUEST, error=exc.message)
    return await _detail(page, account_id, link=link)


@router.post("/{account_id}/disconnect")
async def disconnect(page: EnvPage, account_id: str, form: PostedForm) -> Response:
    try:
        await service.disconnect_account(
            page.session, page.principal, page.runtime.services, account_id
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    return see_other(f"{page.base}/accounts/{quote(account_id)}?saved=1")


@router.post("/{account_id}/delete")
async def delete(page: EnvPage, account_id: str, form: PostedForm) -> Response:
    try:
        await service.delete_account(
            page.session, page.principal, page.runtime.services, {"id": account_id}
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    return see_other(f"{page.base}/accounts?deleted=1")
