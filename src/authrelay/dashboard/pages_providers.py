"""Providers: the catalog (built-in and custom), the JSON editor with a diff before each save,
delete, and promotion to another environment with the three-way view."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from authrelay.dashboard.editor import EMPTY_TEMPLATE, EXAMPLE, Problem, parse, pretty, problems_of
from authrelay.dashboard.web import PREFIX, EnvPage, Page, PageNotFound, PostedForm, redirect
from authrelay.errors import AuthrelayError, FailedPrecondition, InvalidArgument, NotFound
from authrelay.providers import service
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.diff import definition_of, diff_definitions, scope_changes
from authrelay_client.wire import ProviderBody

router = APIRouter(prefix=PREFIX + "/{env}/providers", include_in_schema=False)


def _matches(provider: ProviderBody, query: str) -> bool:
    kinds = " ".join(p.get("type", "") for p in provider["auth_patterns"])
    text = f"{provider['display_name']} {provider['identifier']} {kinds}".lower()
    return all(word in text for word in query.lower().split())


@router.get("")
async def catalog(page: EnvPage, q: str = "", kind: str = "ALL") -> Response:
    kind = kind if kind in {"ALL", "CUSTOM", "DEFAULT"} else "ALL"
    listed = await service.list_providers(
        page.session,
        page.principal,
        page.runtime.services,
        provider_type=kind,
        page_size=str(service.MAX_PAGE_SIZE),
        page_token=None,
        identifier=None,
    )
    shown = [p for p in listed["providers"] if _matches(p, q)]
    return page.render("providers.html", providers=shown, q=q, kind=kind)


async def _current(page: Page, identifier: str) -> ProviderBody:
    try:
        return await service.get_provider(
            page.session, page.principal, page.runtime.services, identifier
        )
    except NotFound as exc:
        raise PageNotFound(exc.message) from None


def _editor(
    page: Page,
    *,
    current: ProviderBody | None,
    text: str,
    etag: str,
    status: int = HTTPStatus.OK,
    problems: list[Problem] | None = None,
    **extra: Any,
) -> Response:
    return page.render(
        "provider_edit.html",
        status,
        current=current,
        text=text,
        etag=etag,
        problems=problems or [],
        lines=sorted({p.line for p in problems or [] if p.line}),
        **extra,
    )


@router.get("/new")
async def new_provider(page: EnvPage, start: str = "empty") -> Response:
    return _editor(
        page, current=None, text=pretty(EXAMPLE if start == "example" else EMPTY_TEMPLATE), etag=""
    )


@router.get("/{identifier}")
async def show_provider(page: EnvPage, identifier: str, saved: str = "") -> Response:
    provider = await _current(page, identifier)
    if not provider["is_custom"]:
        return page.render("provider_builtin.html", provider=provider, text=pretty(provider))
    return _editor(
        page,
        current=provider,
        text=pretty(definition_of(provider)),
        etag=provider["etag"],
        notice="Saved." if saved else "",
    )


def _review(page: Page, current: ProviderBody | None, text: str, etag: str) -> Response:
    """Validate and show the diff; the Save button is offered only when both are fine."""
    raw, problems = parse(text)
    if problems:
        return _editor(
            page,
            current=current,
            text=text,
            etag=etag,
            status=HTTPStatus.BAD_REQUEST,
            problems=problems,
        )
    try:
        validate_definition(service.unwrap_definition(raw), page.runtime.services.allowlist)
    except InvalidArgument as exc:
        return _editor(
            page,
            current=current,
            text=text,
            etag=etag,
            status=HTTPStatus.BAD_REQUEST,
            problems=problems_of(text, exc),
        )
    proposed = service.unwrap_definition(raw)
    old = definition_of(current) if current else None
    added, removed = scope_changes(old, proposed)
    return _editor(
        page,
        current=current,
        text=text,
        etag=etag,
        changes=diff_definitions(old, proposed),
        reviewed=True,
        scopes_added=added,
        scopes_removed=removed,
    )


@router.post("/new")
async def create_provider(page: EnvPage, form: PostedForm) -> Response:
    text = form.get("definition")
    if form.get("step") != "save":
        return _review(page, None, text, "")
    raw, problems = parse(text)
    if problems:
        return _editor(
            page, current=None, text=text, etag="", status=HTTPStatus.BAD_REQUEST, problems=problems
        )
    try:
        created = await service.create_provider(
            page.session, page.principal, page.runtime.services, raw
        )
    except AuthrelayError as exc:
        return _editor(
            page,
            current=None,
            text=text,
            etag="",
            status=HTTPStatus.BAD_REQUEST,
            problems=problems_of(text, exc),
        )
    return redirect(f"{page.base}/providers/{quote(created['identifier'])}?saved=1")


@router.post("/{identifier}")
async def save_provider(page: EnvPage, identifier: str, form: PostedForm) -> Response:
    current = await _current(page, identifier)
    text, etag = form.get("definition"), form.get("etag")
    if form.get("step") != "save":
        return _review(page, current, text, etag)
    raw, problems = parse(text)
    if problems:
        return _editor(
            page,
            current=current,
            text=text,
            etag=etag,
            status=HTTPStatus.BAD_REQUEST,
            problems=problems,
        )
    try:
        await service.update_provider(
            page.session, page.principal, page.runtime.services, identifier, raw, etag or "-"
        )
    except FailedPrecondition:
        # Someone saved in between: show their version against ours; nothing is overwritten.
        await page.session.rollback()
        theirs = await _current(page, identifier)
        return _editor(
            page,
            current=theirs,
            text=text,
            etag=etag,
            status=HTTPStatus.CONFLICT,
            conflict=diff_definitions(definition_of(theirs), service.unwrap_definition(raw)),
            latest_etag=theirs["etag"],
        )
    except AuthrelayError as exc:
        return _editor(
            page,
            current=current,
            text=text,
            etag=etag,
            status=HTTPStatus.BAD_REQUEST,
            problems=problems_of(text, exc),
        )
    return redirect(f"{page.base}/providers/{quote(identifier)}?saved=1")


@router.post("/{identifier}/delete")
async def delete_provider(page: EnvPage, identifier: str, form: PostedForm) -> Response:
    current = await _current(page, identifier)
    try:
        await service.delete_provider(
            page.session, page.principal, page.runtime.services, identifier, None
        )
    except AuthrelayError as exc:
        await page.session.rollback()
        return _editor(
            page,
            current=current,
            text=pretty(definition_of(current)),
            etag=current["etag"],
            status=HTTPStatus.CONFLICT
            if isinstance(exc, FailedPrecondition)
            else HTTPStatus.BAD_REQUEST,
            delete_error=exc.message,
        )
    return redirect(f"{page.base}/providers?deleted={quote(identifier)}")


def _target_page(page: Page, name: str) -> Page:
    target = next((e for e in page.environments if e.name == name), None)
    if target is None or target.id == page.environment.id:
        raise PageNotFound(f"no other environment named {name!r}")
    return Page(page.user, target, page.environments, page.runtime, page.session, page.section)


async def _three_way(
    page: Page, identifier: str, to: str
) -> tuple[Page, ProviderBody, ProviderBody | None]:
    source = await _current(page, identifier)
    target = _target_page(page, to)
    try:
        existing: ProviderBody | None = await service.get_provider(
            page.session, target.principal, page.runtime.services, identifier
        )
    except NotFound:
        existing = None
    return target, source, existing


def _promote_view(
    page: Page, source: ProviderBody, existing: ProviderBody | None, to: str, **extra: Any
) -> Response:
    proposed = definition_of(source)
    rows = diff_definitions(definition_of(existing) if existing else None, proposed)
    return page.render(
        "provider_promote.html",
        extra.pop("status", HTTPStatus.OK),
        provider=source,
        existing=existing,
        rows=rows,
        to=to,
        **extra,
    )


@router.get("/{identifier}/promote")
async def promote_page(page: EnvPage, identifier: str, to: str = "production") -> Response:
    _, source, existing = await _three_way(page, identifier, to)
    return _promote_view(page, source, existing, to)


@router.post("/{identifier}/promote")
async def promote(page: EnvPage, identifier: str, form: PostedForm) -> Response:
    to = form.get("to")
    target, source, existing = await _three_way(page, identifier, to)
    proposed = definition_of(source)
    try:
        if existing is None:
            await service.create_provider(
                page.session, target.principal, page.runtime.services, proposed
            )
        else:
            await service.update_provider(
                page.session,
                target.principal,
                page.runtime.services,
                identifier,
                proposed,
                form.get("target_etag") or "-",
            )
    except AuthrelayError as exc:
        await page.session.rollback()
        _, source, existing = await _three_way(page, identifier, to)
        return _promote_view(
            page, source, existing, to, status=HTTPStatus.CONFLICT, error=exc.message
        )
    return redirect(f"{target.base}/providers/{quote(identifier)}?saved=1")
