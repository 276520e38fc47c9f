"""The home page (counts and last changes), the audit log and the API clients."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from authrelay import audit
from authrelay.accounts import service as accounts
from authrelay.auth import clients
from authrelay.connections import service as connections
from authrelay.dashboard.web import PREFIX, EnvPage, PostedForm
from authrelay.errors import AuthrelayError
from authrelay.providers import service as providers
from authrelay.store import environments as envs
from authrelay.store.accounts import AccountFilter
from authrelay_client.providers.diff import diff_values
from authrelay_client.wire import AuditLogEntryBody

router = APIRouter(prefix=PREFIX + "/{env}", include_in_schema=False)
STATUSES = ("ACTIVE", "PENDING_AUTH", "EXPIRED", "DISCONNECTED")


def with_diffs(entries: list[AuditLogEntryBody]) -> list[dict[str, object]]:
    return [{**e, "changes": diff_values(e["before"], e["after"])} for e in entries]


@router.get("/")
async def home(page: EnvPage) -> Response:
    s, p, ctx = page.session, page.principal, page.runtime.services
    counts: dict[str, int] = {}
    for kind in ("DEFAULT", "CUSTOM"):
        listed = await providers.list_providers(
            s, p, ctx, provider_type=kind, page_size="1", page_token=None, identifier=None
        )
        counts[kind] = listed["total_size"]
    conns = await connections.list_connections(
        s, p, ctx, page_size="1", page_token=None, provider=None, query=None
    )
    by_status = {}
    for status in STATUSES:
        account_list = await accounts.list_accounts(
            s, p, ctx, AccountFilter(status=status), page_size="1", page_token=None
        )
        by_status[status] = account_list["total_size"]
    recent = await audit.list_audit_log(
        s,
        p,
        page_size="10",
        page_token=None,
        resource_type=None,
        resource_id=None,
        count_limit=ctx.count_limit,
    )
    return page.render(
        "home.html",
        builtin=counts["DEFAULT"],
        custom=counts["CUSTOM"],
        connections=conns["total_size"],
        by_status=by_status,
        entries=with_diffs(recent["audit_logs"]),
    )


@router.get("/audit")
async def audit_log(
    page: EnvPage,
    actor: str = "",
    action: str = "",
    resource_type: str = "",
    resource_id: str = "",
    page_token: str = "",
) -> Response:
    filters = {
        "actor": actor.strip(),
        "action": action.strip(),
        "resource_type": resource_type.strip(),
        "resource_id": resource_id.strip(),
    }
    try:
        listed = await audit.list_audit_log(
            page.session,
            page.principal,
            page_size="50",
            page_token=page_token or None,
            resource_type=filters["resource_type"] or None,
            resource_id=filters["resource_id"] or None,
            actor=filters["actor"] or None,
            action=filters["action"] or None,
            count_limit=page.runtime.services.count_limit,
        )
    except AuthrelayError as exc:
        return page.render(
            "audit.html",
            HTTPStatus.BAD_REQUEST,
            filters=filters,
            entries=[],
            total=0,
            next="",
            error=exc.message,
        )
    return page.render(
        "audit.html",
        filters=filters,
        entries=with_diffs(listed["audit_logs"]),
        total=listed["total_size"],
        next=listed["next_page_token"],
        error="",
    )


async def _clients_page(page: EnvPage, status: int = HTTPStatus.OK, **extra: Any) -> Response:
    rows = [
        {"id": r.id, "created_at": r.created_at}
        for r in await envs.list_clients(page.session, page.environment)
    ]
    await page.session.rollback()
    return page.render("clients.html", status, clients=rows, **extra)


@router.get("/clients")
async def clients_page(page: EnvPage) -> Response:
    return await _clients_page(page)


@router.post("/clients")
async def create_client(page: EnvPage, form: PostedForm) -> Response:
    created = await clients.create_api_client(
        page.session, page.principal, page.runtime.services, page.environment
    )
    return await _clients_page(page, created=created)


@router.post("/clients/{client_id}/delete")
async def delete_client(client_id: str, page: EnvPage, form: PostedForm) -> Response:
    try:
        await clients.delete_api_client(
            page.session, page.principal, page.runtime.services, client_id
        )
    except AuthrelayError as exc:
        return await _clients_page(page, HTTPStatus.NOT_FOUND, error=exc.message)
    return await _clients_page(page, notice=f"API client {client_id} deleted")
