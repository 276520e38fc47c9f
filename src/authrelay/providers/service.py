"""Custom-provider management (SPEC §4): create, list, update, delete, with an audit trail."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from authrelay.auth.principal import Principal
from authrelay.changes import Change, UniqueName, commit_change
from authrelay.context import ServiceContext
from authrelay.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.providers.catalog import BuiltinProvider, Catalog
from authrelay.providers.validation import validate_definition
from authrelay.store import AsyncSession
from authrelay.store import providers as store
from authrelay.store import tools as tool_store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import Provider
from authrelay_client.providers.allowlist import AllowAnyHost
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.providers.model import AuthPattern, ProviderDefinition
from authrelay_client.wire import ListProvidersResponse, ProviderBody

ProviderType = Literal["DEFAULT", "CUSTOM", "ALL"]
_TYPE_NAMES: dict[str, ProviderType] = {
    "DEFAULT": "DEFAULT",
    "CUSTOM": "CUSTOM",
    "ALL": "ALL",
    "0": "DEFAULT",
    "1": "CUSTOM",
    "2": "ALL",
}
MAX_PAGE_SIZE = 1000
Key = tuple[int, int]  # (0, catalog index) for built-ins, (1, seq) for custom providers


def _ts(value: datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value else None


def etag_of(row: Provider) -> str:
    digest = hashlib.sha256(f"{row.id}:{row.version}".encode()).hexdigest()[:12]
    return f"{row.version}-{digest}"


def _provider_json(
    *,
    id: str,
    identifier: str,
    definition: dict[str, Any],
    is_custom: bool,
    categories: list[str],
    display_priority: int,
    created_at: datetime | None,
    updated_at: datetime | None,
    etag: str,
) -> ProviderBody:
    patterns = definition.get("auth_patterns", [])
    out: ProviderBody = {
        "id": id,
        "identifier": identifier,
        "display_name": definition["display_name"],
        "description": definition.get("description", ""),
        "categories": categories,
        "auth_patterns": patterns,
        "icon_src": definition.get("icon_src") or "",
        "display_priority": display_priority,
        "coming_soon": False,
        "proxy_url": definition["proxy_url"],
        "proxy_enabled": bool(definition.get("proxy_enabled", False)),
        "is_custom": is_custom,
        "is_custom_mcp": is_custom and any(p.get("is_mcp") for p in patterns),
        "metadata": definition.get("metadata", {}),
        "created_at": _ts(created_at),
        "updated_at": _ts(updated_at),
        "etag": etag,
    }
    # authrelay extensions (SPEC §3a), only when set: Scalekit's shape stays as it was.
    if definition.get("proxy_headers") is not None:
        out["proxy_headers"] = definition["proxy_headers"]
    if definition.get("retry") is not None:
        out["retry"] = definition["retry"]
    return out


def custom_json(row: Provider) -> ProviderBody:
    return _provider_json(
        id=row.id,
        identifier=row.identifier,
        definition=row.definition,
        is_custom=True,
        categories=[],
        display_priority=0,
        created_at=row.created_at,
        updated_at=row.updated_at,
        etag=etag_of(row),
    )


def builtin_json(entry: BuiltinProvider) -> ProviderBody:
    return _provider_json(
        id=Catalog.provider_id(entry.identifier),
        identifier=entry.identifier,
        definition=entry.definition.public(),
        is_custom=False,
        categories=entry.categories,
        display_priority=entry.display_priority,
        created_at=None,
        updated_at=None,
        etag=entry.etag,
    )


# ---------------------------------------------------------------------------- listing


def parse_provider_type(value: str | None) -> ProviderType:
    if value is None or value == "":
        return "ALL"
    found = _TYPE_NAMES.get(value.strip().upper())
    if found is None:
        raise InvalidArgument.field(
            "filter.provider_type", "must be CUSTOM, DEFAULT or ALL (or 1, 0, 2)"
        )
    return found


def encode_token(direction: str, key: tuple[int, ...]) -> str:
    return encode_cursor({direction: list(key)})


def decode_token(token: str, length: int = 2) -> tuple[str, tuple[int, ...]]:
    """(direction, key) of a page token; direction is "a" (after) or "b" (before)."""
    data = decode_cursor(token)
    try:
        ((direction, key),) = data.items()
        if direction not in {"a", "b"} or len(key) != length:
            raise ValueError
        return direction, tuple(int(k) for k in key)
    except (ValueError, TypeError, AttributeError):
        raise bad_token() from None


class _Lister:
    def __init__(
        self,
        session: AsyncSession,
        env_id: str,
        catalog: Catalog,
        kind: ProviderType,
        identifier: str | None,
    ) -> None:
        self.session = session
        self.env_id = env_id
        self.identifier = identifier
        self.with_custom = kind in {"CUSTOM", "ALL"}
        self.builtins: list[tuple[Key, BuiltinProvider]] = []
        if kind in {"DEFAULT", "ALL"}:
            self.builtins = [
                ((0, i), e)
                for i, e in enumerate(catalog.entries)
                if not identifier or e.identifier == identifier
            ]

    async def after(self, key: Key | None, n: int) -> list[tuple[Key, Any]]:
        out: list[tuple[Key, Any]] = [
            item for item in self.builtins if key is None or item[0] > key
        ][:n]
        if len(out) < n and self.with_custom:
            after_seq = key[1] if key is not None and key[0] == 1 else None
            rows = await store.page(
                self.session,
                self.env_id,
                identifier=self.identifier,
                after_seq=after_seq,
                before_seq=None,
                limit=n - len(out),
            )
            out.extend(((1, r.seq), r) for r in rows)
        return out

    async def before(self, key: Key, n: int) -> list[tuple[Key, Any]]:
        out: list[tuple[Key, Any]] = []
        if key[0] == 1 and self.with_custom:
            rows = await store.page(
                self.session,
                self.env_id,
                identifier=self.identifier,
                after_seq=None,
                before_seq=key[1],
                limit=n,
            )
            out = [((1, r.seq), r) for r in rows]
        if len(out) < n:
            earlier = [item for item in self.builtins if item[0] < key]
            out = earlier[len(earlier) - (n - len(out)) :] + out
        return out

    async def total(self) -> int:
        custom = (
            await store.count(self.session, self.env_id, self.identifier) if self.with_custom else 0
        )
        return len(self.builtins) + custom


def _item_json(item: BuiltinProvider | Provider) -> ProviderBody:
    return builtin_json(item) if isinstance(item, BuiltinProvider) else custom_json(item)


async def list_providers(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    *,
    provider_type: str | None,
    page_size: str | None,
    page_token: str | None,
    identifier: str | None,
) -> ListProvidersResponse:
    kind = parse_provider_type(provider_type)
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    lister = _Lister(session, principal.environment_id, services.catalog, kind, identifier or None)
    if page_token:
        direction, raw_key = decode_token(page_token)
        key: Key = (raw_key[0], raw_key[1])
        items = (
            await lister.after(key, size) if direction == "a" else await lister.before(key, size)
        )
    else:
        items = await lister.after(None, size)
    next_token = prev_token = ""
    if items:
        if await lister.after(items[-1][0], 1):
            next_token = encode_token("a", items[-1][0])
        if await lister.before(items[0][0], 1):
            prev_token = encode_token("b", items[0][0])
    return {
        "providers": [_item_json(item) for _, item in items],
        "next_page_token": next_token,
        "prev_page_token": prev_token,
        "total_size": await lister.total(),
    }


# ---------------------------------------------------------------------------- changes


def unwrap_definition(raw: Any) -> Any:
    """Accept the definition itself or wrapped as ``{"provider": {...}}``."""
    if isinstance(raw, dict) and set(raw) == {"provider"} and isinstance(raw["provider"], dict):
        return raw["provider"]
    return raw


# Sent on every update (as Scalekit's server requires them); every other field of the
# definition that an update leaves out keeps its stored value.
REQUIRED_ON_UPDATE = frozenset({"display_name", "proxy_url"})
# Optional fields whose ``null`` in an update clears them (stored as absent, as on create).
CLEARED_BY_NULL = frozenset({"icon_src", "proxy_headers", "retry"})


def merge_update(stored: dict[str, Any], raw: Any) -> Any:
    """The definition an update asks for: the body's top-level fields over the stored ones.

    A field is left out when its key is absent from the JSON object; a key that is present
    replaces the stored value whole, so ``auth_patterns`` and ``metadata`` are replaced, never
    merged; ``null`` clears the fields of CLEARED_BY_NULL. A body that is not an object is
    returned as it is, for the validator to refuse."""
    body = unwrap_definition(raw)
    if not isinstance(body, dict):
        return body
    kept = {key: value for key, value in stored.items() if key not in REQUIRED_ON_UPDATE}
    merged = {**kept, **body}
    return {
        key: value
        for key, value in merged.items()
        if not (value is None and key in CLEARED_BY_NULL)
    }


def _builtin_conflict(entry: BuiltinProvider) -> AlreadyExists:
    name = entry.definition.display_name
    return AlreadyExists(
        f"a built-in provider {name!r} already has the identifier {entry.identifier!r}; "
        "choose another display name",
        [FieldViolation("display_name", f"derives identifier {entry.identifier!r}, taken")],
    )


def _custom_conflict(row: Provider) -> AlreadyExists:
    return AlreadyExists(
        f"provider {row.display_name!r} (identifier {row.identifier!r}, id {row.id}) already "
        "exists in this environment; update it with PUT /api/v1/custom-providers/"
        f"{row.identifier} or choose another display name",
        [FieldViolation("display_name", f"derives identifier {row.identifier!r}, taken")],
    )


async def create_provider(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    raw: Any,
    extra: Sequence[FieldViolation] = (),
) -> ProviderBody:
    """Create a custom provider (`extra`: violations the caller found in the body)."""
    definition = validate_definition(unwrap_definition(raw), services.allowlist, extra)
    identifier = derive_identifier(definition.display_name)
    builtin = services.catalog.get(identifier)
    if builtin is not None:
        raise _builtin_conflict(builtin)
    unique = UniqueName(
        lambda: store.get_by_identifier(session, principal.environment_id, identifier),
        _custom_conflict,
    )
    await unique.check()
    now = utcnow()
    row = Provider(
        id=new_id("prv"),
        environment_id=principal.environment_id,
        identifier=identifier,
        display_name=definition.display_name,
        definition=definition.public(),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    body = custom_json(row)
    change = Change("provider.create", identifier, after=row.definition)
    await unique.commit_change(session, services, principal, change)
    return body


async def _custom_or_raise(
    session: AsyncSession, principal: Principal, services: ServiceContext, identifier: str
) -> Provider:
    row = await store.get_by_identifier(session, principal.environment_id, identifier)
    if row is not None:
        return row
    if services.catalog.get(identifier) is not None:
        raise PermissionDenied(
            f"{identifier!r} is a built-in provider and cannot be changed; create a custom "
            "provider with another display name instead"
        )
    raise NotFound(f"no custom provider with identifier {identifier!r} in this environment")


def etag_matches(if_match: str | None, etag: str) -> bool:
    if if_match is None:
        return True
    for candidate in if_match.split(","):
        value = candidate.strip()
        if value == "*":
            return True
        value = value.removeprefix("W/").strip('"')
        if value == etag:
            return True
    return False


def _stale(row: Provider) -> FailedPrecondition:
    return FailedPrecondition(
        f"provider {row.identifier!r} has changed since it was read (current etag "
        f"{etag_of(row)}); read it again and retry"
    )


async def update_provider(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    identifier: str,
    raw: Any,
    if_match: str | None,
    *,
    keep_absent: bool = False,
    extra: Sequence[FieldViolation] = (),
) -> ProviderBody:
    """Replace a custom provider's definition; with `keep_absent` (the API's PUT), the
    fields the body leaves out keep their stored values (`merge_update`)."""
    row = await _custom_or_raise(session, principal, services, identifier)
    wanted = merge_update(row.definition, raw) if keep_absent else unwrap_definition(raw)
    definition: ProviderDefinition = validate_definition(wanted, services.allowlist, extra)
    if not etag_matches(if_match, etag_of(row)):
        raise _stale(row)
    before = row.definition
    after = definition.public()
    swapped = await store.replace_definition(
        session,
        row,
        display_name=definition.display_name,
        definition=after,
        expected_version=row.version,
        updated_at=utcnow(),
    )
    if not swapped:
        # Another write landed between our read and our write: with If-Match the caller
        # asked for exactly the version it read, so refuse; without it, last write wins.
        await session.rollback()
        if if_match is not None:
            fresh = await _custom_or_raise(session, principal, services, identifier)
            raise _stale(fresh)
        return await update_provider(
            session,
            principal,
            services,
            identifier,
            raw,
            None,
            keep_absent=keep_absent,
            extra=extra,
        )
    change = Change("provider.update", identifier, before=before, after=after)
    await commit_change(session, services, principal, change)
    fresh_row = await store.reread(session, principal.environment_id, identifier)
    if fresh_row is None:  # deleted by another request right after this change
        raise NotFound(f"provider {identifier!r} was deleted by another request")
    return custom_json(fresh_row)


async def delete_provider(
    session: AsyncSession,
    principal: Principal,
    services: ServiceContext,
    identifier: str,
    if_match: str | None,
) -> None:
    row = await _custom_or_raise(session, principal, services, identifier)
    if not etag_matches(if_match, etag_of(row)):
        raise _stale(row)
    in_use = await store.connections_using(session, principal.environment_id, identifier)
    if in_use:
        names = ", ".join(
            f"{name!r} ({n} connected account{'s' if n != 1 else ''})" for name, n in in_use
        )
        raise FailedPrecondition(
            f"provider {identifier!r} is used by {len(in_use)} connection"
            f"{'s' if len(in_use) != 1 else ''}: {names}. Delete those connections (and their "
            "connected accounts) first, then delete the provider."
        )
    await session.delete(row)
    # Its tools go with it (one audit entry for the provider, naming them).
    tools = await tool_store.delete_for_provider(session, principal.environment_id, identifier)
    change = Change(
        "provider.delete",
        identifier,
        before={**row.definition, "tools": tools} if tools else row.definition,
    )
    await commit_change(session, services, principal, change)


async def get_provider(
    session: AsyncSession, principal: Principal, services: ServiceContext, identifier: str
) -> ProviderBody:
    row = await store.get_by_identifier(session, principal.environment_id, identifier)
    if row is not None:
        return custom_json(row)
    builtin = services.catalog.get(identifier)
    if builtin is not None:
        return builtin_json(builtin)
    raise NotFound(f"no provider with identifier {identifier!r} in this environment")


@dataclass(frozen=True)
class ResolvedProvider:
    """A provider's parsed definition, built-in or custom."""

    identifier: str
    definition: ProviderDefinition
    is_custom: bool

    def pattern(self, kind: str) -> AuthPattern | None:
        return next((p for p in self.definition.auth_patterns if p.type == kind), None)


def parse_stored(definition: dict[str, Any]) -> ProviderDefinition:
    return ProviderDefinition.model_validate(definition, context={"allowlist": AllowAnyHost()})


async def resolve_provider(
    session: AsyncSession, env_id: str, catalog: Catalog, identifier: str
) -> ResolvedProvider | None:
    row = await store.get_by_identifier(session, env_id, identifier)
    if row is not None:
        return ResolvedProvider(identifier, parse_stored(row.definition), True)
    builtin = catalog.get(identifier)
    if builtin is not None:
        return ResolvedProvider(identifier, builtin.definition, False)
    return None
