"""Connections: create from a provider, OAuth app settings (client secret write-only),
scopes with the required ones locked, the redirect URI to copy, enable/disable, delete."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypedDict
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.accounts import service as accounts
from authrelay.connections import service
from authrelay.dashboard.web import PREFIX, EnvPage, Page, PageNotFound, PostedForm, field_errors
from authrelay.dashboard.web import redirect as see_other
from authrelay.errors import AuthrelayError, NotFound
from authrelay.providers import service as providers
from authrelay.store.accounts import AccountFilter
from authrelay_client.wire import ConnectionBody, ProviderBody

router = APIRouter(prefix=PREFIX + "/{env}/connections", include_in_schema=False)
TYPES = ("", "OAUTH", "API_KEY", "BASIC", "BEARER", "TOKEN_EXCHANGE")


async def provider_choices(page: Page) -> list[ProviderBody]:
    listed = await providers.list_providers(
        page.session,
        page.principal,
        page.runtime.services,
        provider_type="ALL",
        page_size=str(providers.MAX_PAGE_SIZE),
        page_token=None,
        identifier=None,
    )
    return sorted(listed["providers"], key=lambda p: p["display_name"].lower())


async def _list_page(
    page: Page, q: str, page_token: str, status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    listed = await service.list_connections(
        page.session,
        page.principal,
        page.runtime.services,
        page_size=None,
        page_token=page_token or None,
        provider=None,
        query=q or None,
    )
    return page.render(
        "connections.html",
        status,
        connections=listed["connections"],
        next=listed["next_page_token"],
        total=listed["total_size"],
        q=q,
        providers=await provider_choices(page),
        types=TYPES,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("")
async def connections_page(page: EnvPage, q: str = "", page_token: str = "") -> Response:
    return await _list_page(page, q, page_token)


@router.post("")
async def create_connection(page: EnvPage, form: PostedForm) -> Response:
    values = {k: form.get(k).strip() for k in ("provider_key", "key_id", "type")}
    raw: dict[str, Any] = {k: v for k, v in values.items() if v}
    try:
        created = await service.create_connection(
            page.session, page.principal, page.runtime.services, raw
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _list_page(
            page, "", "", HTTPStatus.BAD_REQUEST, values=values, errors=field_errors(exc)
        )
    return see_other(f"{page.base}/connections/{quote(created['id'])}?saved=1")


async def _connection(page: Page, connection_id: str) -> ConnectionBody:
    try:
        return await service.get_connection(
            page.session, page.principal, page.runtime.services, connection_id
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None


class ScopeChoice(TypedDict):
    """One scope of the connection's pattern, as the edit page lists it."""

    scope: str
    description: str
    required: bool
    chosen: bool


async def _scopes(page: Page, connection: ConnectionBody) -> list[ScopeChoice]:
    """The provider's scopes for this connection's pattern, each marked chosen/required."""
    try:
        provider = await providers.get_provider(
            page.session, page.principal, page.runtime.services, connection["provider_key"]
        )
    except NotFound:
        return []
    oauth = connection.get("oauth_config") or {}
    chosen = set(oauth.get("scopes", []))
    out: list[ScopeChoice] = []
    for pattern in provider["auth_patterns"]:
        if pattern.get("type") != connection["type"]:
            continue
        for scope in (pattern.get("oauth_config") or {}).get("available_scopes", []):
            name = scope["scope"]
            out.append(
                {
                    "scope": name,
                    "description": scope.get("description", ""),
                    "required": bool(scope.get("required")),
                    "chosen": name in chosen or bool(scope.get("required")),
                }
            )
    return out


async def _account_count(page: Page, connection_id: str) -> int:
    listed = await accounts.list_accounts(
        page.session,
        page.principal,
        page.runtime.services,
        AccountFilter(connection_ids=[connection_id]),
        page_size="1",
        page_token=None,
    )
    return int(listed["total_size"])


async def _detail(
    page: Page, connection_id: str, status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    connection = await _connection(page, connection_id)
    return page.render(
        "connection.html",
        status,
        connection=connection,
        scopes=await _scopes(page, connection),
        account_count=await _account_count(page, connection["id"]),
        values=extra.pop("values", connection.get("oauth_config") or {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/{connection_id}")
async def connection_page(page: EnvPage, connection_id: str, saved: str = "") -> Response:
    return await _detail(page, connection_id, notice="Saved." if saved else "")


@router.post("/{connection_id}")
async def save_settings(page: EnvPage, connection_id: str, form: PostedForm) -> Response:
    oauth: dict[str, Any] = {"client_id": form.get("client_id").strip()}
    if form.get("client_secret"):
        oauth["client_secret"] = form.get("client_secret")
    if form.get("scopes_shown"):
        oauth["scopes"] = form.all("scopes")
    try:
        await service.update_connection(
            page.session,
            page.principal,
            page.runtime.services,
            connection_id,
            {"oauth_config": oauth},
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        values = {"client_id": oauth["client_id"], "scopes": oauth.get("scopes", [])}
        errors = {k.removeprefix("oauth_config."): v for k, v in field_errors(exc).items()}
        return await _detail(
            page, connection_id, HTTPStatus.BAD_REQUEST, values=values, errors=errors
        )
    return see_other(f"{page.base}/connections/{quote(connection_id)}?saved=1")


@router.post("/{connection_id}/enabled")
async def set_enabled(page: EnvPage, connection_id: str, form: PostedForm) -> Response:
    try:
        await service.set_enabled(
            page.session,
            page.principal,
            page.runtime.services,
            connection_id,
            form.get("enabled") == "true",
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    return see_other(f"{page.base}/connections/{quote(connection_id)}?saved=1")


@router.get("/{connection_id}/delete")
async def confirm_delete(page: EnvPage, connection_id: str) -> Response:
    connection = await _connection(page, connection_id)
    return page.render(
        "connection_delete.html",
        connection=connection,
        account_count=await _account_count(page, connection["id"]),
    )


@router.post("/{connection_id}/delete")
async def delete_connection(page: EnvPage, connection_id: str, form: PostedForm) -> Response:
    try:
        await service.delete_connection(
            page.session, page.principal, page.runtime.services, connection_id, force=True
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    return see_other(f"{page.base}/connections?deleted=1")
