"""Tools: each provider's tools, searchable by name and description, with their schemas,
annotations, binding and source; hand-written tools (source `api`) can be deleted."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.dashboard.pages_connections import provider_choices
from authrelay.dashboard.web import PREFIX, EnvPage, Page, PageNotFound, PostedForm
from authrelay.dashboard.web import redirect as see_other
from authrelay.errors import NotFound
from authrelay.tools import listing, service
from authrelay_client.wire import ToolBody

router = APIRouter(prefix=PREFIX + "/{env}/tools", include_in_schema=False)
PAGE_SIZE = "50"


async def _get(page: Page, tool_id: str) -> ToolBody:
    try:
        return await service.get_tool(page.session, page.principal, tool_id)
    except NotFound as exc:
        raise PageNotFound(exc.message) from None


@router.get("")
async def tools_page(
    page: EnvPage, provider: str = "", q: str = "", page_token: str = "", deleted: str = ""
) -> Response:
    q = q.strip()
    listed = (
        await listing.list_tools(
            page.session,
            page.principal,
            page.runtime.tool_index,
            providers=[provider] if provider else (),
            query=q or None,
            page_size=PAGE_SIZE,
            page_token=page_token or None,
            view="full",
        )
    ).as_dict()
    return page.render(
        "tools.html",
        tools=listed["tools"],
        total=listed["total_size"],
        next=listed["next_page_token"],
        provider=provider,
        q=q,
        providers=await provider_choices(page),
        notice="Deleted." if deleted else "",
    )


@router.get("/{tool_id}")
async def tool_page(page: EnvPage, tool_id: str) -> Response:
    return page.render("tool.html", tool=await _get(page, tool_id))


@router.post("/{tool_id}/delete")
async def delete_tool(page: EnvPage, tool_id: str, form: PostedForm) -> Response:
    tool = await _get(page, tool_id)
    if tool["source"] != "api":
        return page.render(
            "tool.html",
            HTTPStatus.CONFLICT,
            tool=tool,
            error="Only hand-written tools (source api) are deleted here; this one comes from "
            f"{tool['source']}: change it there.",
        )
    try:
        await service.delete_tool(page.session, page.principal, page.runtime.services, tool["id"])
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    provider = tool["provider"].lower()
    return see_other(f"{page.base}/tools?provider={quote(provider)}&deleted=1")
