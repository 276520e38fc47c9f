"""ProviderService's methods on `/api/v1/providers` and `/api/v1/my-providers`.

authrelay's catalog of built-in providers ships with it and cannot be changed, so
CreateProvider, UpdateProvider and DeleteProvider are the custom-provider operations under
Scalekit's other paths: their catalog-only fields (`identifier`, `categories`,
`display_priority`, `coming_soon`) are checked and dropped, and a built-in provider is
refused (PERMISSION_DENIED). ListMyProviders lists the providers the caller's environment
has a connection of.
"""

from __future__ import annotations

from typing import Any

from authrelay.auth.principal import Principal
from authrelay.context import ServiceContext
from authrelay.errors import FieldViolation
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.providers import service
from authrelay.store import AsyncSession
from authrelay.store import connections as connection_store
from authrelay.store import providers as provider_store
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.wire import ListProvidersResponse, ProviderBody

# Fields of CreateProvider/UpdateProvider that describe a catalog entry, with the value a
# custom provider has (what the field's proto3 default means on the wire).
_CATALOG_FIELDS: dict[str, Any] = {"categories": [], "display_priority": 0, "coming_soon": False}
_CATALOG_NOTE = "is an attribute of built-in providers; custom providers have none"


def _split(raw: Any, *, with_identifier: bool) -> tuple[Any, list[FieldViolation]]:
    """The custom-provider definition in a Create/UpdateProvider body, and what is wrong
    with the catalog-only fields the body gives."""
    body = service.unwrap_definition(raw)
    if not isinstance(body, dict):
        return body, []
    violations: list[FieldViolation] = []
    rest = dict(body)
    for key, default in _CATALOG_FIELDS.items():
        if key in rest and rest.pop(key) not in (default, None):
            violations.append(FieldViolation(key, _CATALOG_NOTE))
    if with_identifier and "identifier" in rest:
        given = rest.pop("identifier")
        name = rest.get("display_name")
        derived = derive_identifier(name) if isinstance(name, str) and name.strip() else None
        if given not in ("", None) and (not isinstance(given, str) or given != derived):
            hint = f" ({derived!r} for this display_name)" if derived else ""
            violations.append(
                FieldViolation(
                    "identifier", f"must be empty or the one derived from display_name{hint}"
                )
            )
    return rest, violations


async def create_provider(
    session: AsyncSession, principal: Principal, services: ServiceContext, raw: Any
) -> ProviderBody:
    """CreateProvider (`POST /api/v1/providers`): a custom provider."""
    definition, violations = _split(raw, with_identifier=True)
    return await service.create_provider(session, principal, services, definition, violations)


async def update_provider(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    identifier: str,
    raw: Any,
    if_match: str | None,
) -> ProviderBody:
    """UpdateProvider (`PUT /api/v1/providers/{identifier}`): a custom provider's partial
    update, as UpdateCustomProvider."""
    definition, violations = _split(raw, with_identifier=False)
    return await service.update_provider(
        session,
        principal,
        services,
        identifier,
        definition,
        if_match,
        keep_absent=True,
        extra=violations,
    )


MAX_PAGE_SIZE = 1000


def _position(token: str) -> tuple[str, str]:
    data = decode_cursor(token)
    if not isinstance(data, dict) or len(data) != 1:
        raise bad_token()
    ((direction, identifier),) = data.items()
    if direction not in {"a", "b"} or not isinstance(identifier, str):
        raise bad_token()
    return direction, identifier


async def list_my_providers(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    *,
    page_size: str | None,
    page_token: str | None,
) -> ListProvidersResponse:
    """ListMyProviders: the providers (built-in or custom) with at least one connection in
    the caller's environment, by identifier."""
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    identifiers = await connection_store.provider_identifiers(session, principal.environment_id)
    start, end = 0, min(size, len(identifiers))
    if page_token:
        direction, at = _position(page_token)
        if direction == "a":
            start = sum(1 for i in identifiers if i <= at)
            end = min(start + size, len(identifiers))
        else:
            end = sum(1 for i in identifiers if i < at)
            start = max(0, end - size)
    chosen = identifiers[start:end]
    providers: list[ProviderBody] = []
    for identifier in chosen:
        row = await provider_store.get_by_identifier(session, principal.environment_id, identifier)
        builtin = services.catalog.get(identifier)
        if row is not None:
            providers.append(service.custom_json(row))
        elif builtin is not None:
            providers.append(service.builtin_json(builtin))
    return {
        "providers": providers,
        "next_page_token": encode_cursor({"a": chosen[-1]})
        if chosen and end < len(identifiers)
        else "",
        "prev_page_token": encode_cursor({"b": chosen[0]}) if chosen and start > 0 else "",
        "total_size": len(identifiers),
    }
