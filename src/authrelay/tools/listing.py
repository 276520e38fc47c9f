"""Reading tools: the list with Scalekit's filters, the tools one end user can use
(`scoped`: per active connected account; `available`: every enabled connection's provider),
and a ranked text search over names and descriptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.auth.principal import Principal
from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.providers.identifiers import derive_identifier
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store import tools as store
from authrelay.store.models import Tool
from authrelay.tools.views import full_json, tool_json

MAX_PAGE_SIZE = 1000
_WORD = re.compile(r"[a-z0-9]+")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    data = decode_cursor(token)
    if not isinstance(data, dict) or not isinstance(data.get("o"), int) or data["o"] < 0:
        raise bad_token()
    return int(data["o"])


def _after(token: str | None) -> int | None:
    if not token:
        return None
    data = decode_cursor(token)
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise bad_token()
    return int(data["a"])


def _providers(values: Sequence[str]) -> list[str]:
    return [derive_identifier(v) for v in values if v.strip()]


def _description(row: Tool) -> str:
    value = row.definition.get("description", "")
    return value if isinstance(value, str) else ""


def _matches(row: Tool, text: str) -> bool:
    needle = text.lower()
    return needle in row.name.lower() or needle in _description(row).lower()


async def _account_providers(
    session: AsyncSession,
    env_id: str,
    identifier: str,
    connector: str | None,
    account_id: str | None,
) -> list[str]:
    pairs = await store.accounts_of(session, env_id, identifier) if identifier else []
    if account_id:
        account = await account_store.by_id(session, account_id)
        if account is None or account.environment_id != env_id:
            return []
        connection = await connection_store.get(session, env_id, account.connection_id)
        return [connection.provider_identifier] if connection else []
    return sorted({c.provider_identifier for _, c in pairs if not connector or c.name == connector})


async def list_tools(
    session: AsyncSession,
    principal: Principal,
    *,
    providers: Sequence[str] = (),
    tool_names: Sequence[str] = (),
    query: str | None = None,
    summary: str | None = None,
    identifier: str | None = None,
    connector: str | None = None,
    connected_account_id: str | None = None,
    page_size: str | None = None,
    page_token: str | None = None,
    view: str | None = None,
) -> dict[str, Any]:
    """`GET /api/v1/tools`: keyset pages over the filters; `filter.summary` gives names only;
    `filter.identifier` (with `filter.connector`) or `filter.connected_account_id` keeps the
    tools of that user's connected providers."""
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    if summary not in (None, "", "true", "false", "1", "0"):
        raise InvalidArgument.field("filter.summary", "must be true or false")
    if view not in (None, "", "basic", "full"):
        raise InvalidArgument.field("view", "must be basic or full (full adds the binding)")
    shape = full_json if view == "full" else tool_json
    wanted = _providers(providers)
    if identifier or connected_account_id:
        own = await _account_providers(
            session, env_id, identifier or "", connector, connected_account_id
        )
        wanted = [p for p in own if not wanted or p in wanted]
        if not wanted:
            return _page([], "", 0, summary, shape)
    after = _after(page_token)
    names = [n for n in tool_names if n]
    if query:
        rows = [
            r
            for r in await store.page(session, env_id, providers=wanted, names=names)
            if _matches(r, query)
        ]
        total = len(rows)
        rows = [r for r in rows if after is None or r.seq > after][: size + 1]
    else:
        total = await store.count(session, env_id, providers=wanted, names=names)
        rows = await store.page(
            session, env_id, providers=wanted, names=names, after_seq=after, limit=size + 1
        )
    next_token = encode_cursor({"a": rows[size - 1].seq}) if len(rows) > size else ""
    return _page(rows[:size], next_token, total, summary, shape)


def _page(
    rows: list[Tool],
    next_token: str,
    total: int,
    summary: str | None,
    shape: Callable[[Tool], dict[str, Any]],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "next_page_token": next_token,
        "prev_page_token": "",
        "total_size": total,
    }
    if summary in ("true", "1"):
        body["tool_names"] = [r.name for r in rows]
    else:
        body["tools"] = [shape(r) for r in rows]
    return body


def _required_identifier(identifier: str | None) -> str:
    if not identifier:
        raise InvalidArgument.field("identifier", "is required (the end user's identifier)")
    return identifier


async def scoped_tools(
    session: AsyncSession,
    principal: Principal,
    *,
    identifier: str | None,
    providers: Sequence[str] = (),
    tool_names: Sequence[str] = (),
    connection_names: Sequence[str] = (),
    page_size: str | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    """One entry per (ACTIVE connected account of `identifier`, tool of its provider)."""
    who = _required_identifier(identifier)
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    start = _offset(page_token)
    wanted = set(_providers(providers))
    names = [n for n in tool_names if n]
    entries: list[dict[str, Any]] = []
    by_provider: dict[str, list[Tool]] = {}
    for account, connection in await store.accounts_of(session, env_id, who):
        if account.status != "ACTIVE":
            continue
        if connection_names and connection.name not in connection_names:
            continue
        provider = connection.provider_identifier
        if wanted and provider not in wanted:
            continue
        if provider not in by_provider:
            by_provider[provider] = await store.page(
                session, env_id, providers=[provider], names=names
            )
        entries += [
            {"connected_account_id": account.id, "identifier": who, "tool": tool_json(t)}
            for t in by_provider[provider]
        ]
    chunk = entries[start : start + size]
    return {
        "tools": chunk,
        "next_page_token": encode_cursor({"o": start + size})
        if start + size < len(entries)
        else "",
        "prev_page_token": encode_cursor({"o": max(start - size, 0)}) if start else "",
        "total_size": len(entries),
    }


async def available_tools(
    session: AsyncSession,
    principal: Principal,
    *,
    identifier: str | None,
    page_size: str | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    """The tools of every enabled connection's provider: what `identifier` can use now or
    after authorizing (scoped lists the ones usable right now)."""
    _required_identifier(identifier)
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    start = _offset(page_token)
    providers = sorted(
        {c.provider_identifier for c in await store.enabled_connections(session, env_id)}
    )
    rows = await store.page(session, env_id, providers=providers) if providers else []
    chunk = rows[start : start + size]
    return {
        "tools": [tool_json(r) for r in chunk],
        "next_page_token": encode_cursor({"o": start + size}) if start + size < len(rows) else "",
        "prev_page_token": encode_cursor({"o": max(start - size, 0)}) if start else "",
        "total_size": len(rows),
    }


def _stem(word: str) -> str:
    """A crude English stem, so `issues` finds `create_issue`."""
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _score(row: Tool, words: list[str], phrase: str) -> float:
    name = row.name.lower()
    name_words = {_stem(w) for w in _WORD.findall(name.replace("_", " "))}
    text = _description(row).lower()
    text_words = {_stem(w) for w in _WORD.findall(text)}
    score = 0.0
    if phrase == name:
        score += 100
    elif phrase in name:
        score += 20
    if phrase and phrase in text:
        score += 8
    for word in words:
        stem = _stem(word)
        if stem in name_words:
            score += 10
        elif stem in name:
            score += 5
        if stem in text_words:
            score += 3
        elif stem in text:
            score += 1
        if word == row.provider_identifier:
            score += 2
    return score


async def search_tools(session: AsyncSession, principal: Principal, raw: Any) -> dict[str, Any]:
    """`POST /api/v1/tools:search` `{query, providers?, limit?}` → the best matches first,
    each with its `score`."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    violations = [
        FieldViolation(k, f"unknown field {k!r}")
        for k in sorted(set(raw) - {"query", "providers", "limit"})
    ]
    query, providers, limit = raw.get("query"), raw.get("providers", []), raw.get("limit", 10)
    if not isinstance(query, str) or not query.strip():
        violations.append(FieldViolation("query", "is required (words to look for)"))
    if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
        violations.append(FieldViolation("providers", "must be a list of provider identifiers"))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        violations.append(FieldViolation("limit", "must be an integer from 1 to 100"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    assert isinstance(query, str) and isinstance(providers, list) and isinstance(limit, int)
    phrase = query.strip().lower()
    words = _WORD.findall(phrase)
    rows = await store.page(session, principal.environment_id, providers=_providers(providers))
    scored = [(s, r) for r in rows if (s := _score(r, words, phrase)) > 0]
    scored.sort(key=lambda item: (-item[0], item[1].name))
    return {
        "results": [{"score": s, "tool": tool_json(r)} for s, r in scored[:limit]],
        "total_size": len(scored),
    }
