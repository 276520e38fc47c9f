"""MCP sign-in: the grants users gave MCP clients on the consent page (filtered by user,
revocable) and the clients of the environment's MCP authorization server (disable, enable,
delete). The same services as `/api/v1/mcp/oauth/…` and `authrelay mcp grants|clients`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.dashboard.web import PREFIX, EnvPage, PostedForm
from authrelay.errors import AuthrelayError
from authrelay.mcp import grants, oauth_clients

router = APIRouter(prefix=PREFIX + "/{env}/mcp-oauth", include_in_schema=False)


async def _page(
    page: EnvPage, identifier: str = "", status: int = HTTPStatus.OK, **extra: Any
) -> Response:
    env_id = page.environment.id
    listed = await grants.list_grants(page.session, env_id, identifier or None)
    found = await oauth_clients.list_clients(page.session, env_id)
    await page.session.rollback()
    return page.render(
        "mcp_oauth.html", status, grants=listed, clients=found, identifier=identifier, **extra
    )


@router.get("")
async def mcp_oauth_page(page: EnvPage, identifier: str = "") -> Response:
    return await _page(page, identifier.strip())


@router.post("/grants/{grant_id}/revoke")
async def revoke_grant(grant_id: str, page: EnvPage, form: PostedForm) -> Response:
    try:
        await grants.revoke(page.session, page.runtime.invalidate, page.principal, grant_id)
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _page(page, status=HTTPStatus.NOT_FOUND, error=exc.message)
    return await _page(page, form.get("identifier"), notice=f"grant {grant_id} revoked")


@router.post("/clients/{client_id:path}/{action}")
async def change_client(client_id: str, action: str, page: EnvPage, form: PostedForm) -> Response:
    invalidate = page.runtime.invalidate
    try:
        if action == "delete":
            await oauth_clients.delete_client(page.session, page.principal, client_id, invalidate)
        elif action in ("disable", "enable"):
            await oauth_clients.set_disabled(
                page.session, page.principal, client_id, action == "disable", invalidate
            )
        else:
            return await _page(page, status=HTTPStatus.NOT_FOUND, error=f"no action {action!r}")
    except AuthrelayError as exc:
        await page.session.rollback()
        return await _page(page, status=HTTPStatus.NOT_FOUND, error=exc.message)
    done = {"delete": "deleted", "disable": "disabled", "enable": "enabled"}[action]
    return await _page(page, notice=f"client {client_id} {done}")
