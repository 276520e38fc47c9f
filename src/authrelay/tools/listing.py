"""Reading tools: the list with Scalekit's filters, the tools one end user can use
(`scoped`: per active connected account; `available`: every enabled connection's provider),
and a ranked text search over names and descriptions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from authrelay.auth.principal import Principal
from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.store import AsyncSession
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store import tools as store
from authrelay.tools.index import IndexCache, Listed, ToolIndex, after, encode
from authrelay_client.providers.identifiers import derive_identifier
from authrelay_client.wire import (
    ConnectionReadinessBody,
    ListToolsResponse,
    SearchToolsFullResponse,
    SearchToolsResponse,
    ToolReadinessState,
)

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


@dataclass(frozen=True)
class ToolPage:
    """One page of `GET /api/v1/tools`: `body()` is the answer's JSON (joined from the
    index's pre-encoded entries), `as_dict()` the same as data."""

    index: ToolIndex | None
    entries: list[Listed]
    next_token: str
    total: int
    summary: bool
    full: bool

    def _wire(self, entry: Listed) -> bytes:
        if self.full and self.index is not None:
            return self.index.full_wire(entry)
        return entry.wire

    def body(self) -> bytes:
        head = (
            b'{"next_page_token":' + encode(self.next_token) + b',"prev_page_token":"",'
            b'"total_size":' + str(self.total).encode()
        )
        if self.summary:
            return head + b',"tool_names":' + encode([e.name for e in self.entries]) + b"}"
        return head + b',"tools":[' + b",".join(self._wire(e) for e in self.entries) + b"]}"

    def as_dict(self) -> ListToolsResponse:
        body: ListToolsResponse = {
            "next_page_token": self.next_token,
            "prev_page_token": "",
            "total_size": self.total,
        }
        if self.summary:
            body["tool_names"] = [e.name for e in self.entries]
        elif self.full:
            body["tools"] = [
                {**e.tool, "binding": e.binding, "source": e.source} for e in self.entries
            ]
        else:
            body["tools"] = [e.tool for e in self.entries]
        return body


async def list_tools(
    session: AsyncSession,
    principal: Principal,
    indexes: IndexCache,
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
) -> ToolPage:
    """`GET /api/v1/tools`: keyset pages over the filters; `filter.summary` gives names only;
    `filter.identifier` (with `filter.connector`) or `filter.connected_account_id` keeps the
    tools of that user's connected providers."""
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    if summary not in (None, "", "true", "false", "1", "0"):
        raise InvalidArgument.field("filter.summary", "must be true or false")
    if view not in (None, "", "basic", "full"):
        raise InvalidArgument.field("view", "must be basic or full (full adds the binding)")
    names_only, full = summary in ("true", "1"), view == "full"
    wanted = _providers(providers)
    if identifier or connected_account_id:
        own = await _account_providers(
            session, env_id, identifier or "", connector, connected_account_id
        )
        wanted = [p for p in own if not wanted or p in wanted]
        if not wanted:
            return ToolPage(None, [], "", 0, names_only, full)
    seq_after = _after(page_token)
    index = await indexes.get(session, env_id)
    rows = index.select(wanted, [n for n in tool_names if n])
    if query:
        needle = query.lower()
        rows = [r for r in rows if r.matches(needle)]
    total = len(rows)
    rows = after(rows, seq_after)
    next_token = encode_cursor({"a": rows[size - 1].seq}) if len(rows) > size else ""
    return ToolPage(index, rows[:size], next_token, total, names_only, full)


def _required_identifier(identifier: str | None) -> str:
    if not identifier:
        raise InvalidArgument.field("identifier", "is required (the end user's identifier)")
    return identifier


def _offset_page(items: list[bytes], start: int, size: int) -> bytes:
    """`{tools, next_page_token, prev_page_token, total_size}` of offset pages over
    pre-encoded items."""
    chunk = items[start : start + size]
    next_token = encode_cursor({"o": start + size}) if start + size < len(items) else ""
    prev_token = encode_cursor({"o": max(start - size, 0)}) if start else ""
    return (
        b'{"tools":[' + b",".join(chunk) + b'],"next_page_token":' + encode(next_token)
        + b',"prev_page_token":' + encode(prev_token)
        + b',"total_size":' + str(len(items)).encode() + b"}"
    )  # fmt: skip


async def scoped_tools(
    session: AsyncSession,
    principal: Principal,
    indexes: IndexCache,
    *,
    identifier: str | None,
    providers: Sequence[str] = (),
    tool_names: Sequence[str] = (),
    connection_names: Sequence[str] = (),
    page_size: str | None = None,
    page_token: str | None = None,
) -> bytes:
    """One entry per (ACTIVE connected account of `identifier`, tool of its provider)."""
    who = _required_identifier(identifier)
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    start = _offset(page_token)
    wanted = set(_providers(providers))
    names = [n for n in tool_names if n]
    entries: list[bytes] = []
    index: ToolIndex | None = None
    for account, connection in await store.accounts_of(session, env_id, who):
        if account.status != "ACTIVE":
            continue
        if connection_names and connection.name not in connection_names:
            continue
        provider = connection.provider_identifier
        if wanted and provider not in wanted:
            continue
        index = index or await indexes.get(session, env_id)
        head = (
            b'{"connected_account_id":' + encode(account.id)
            + b',"identifier":' + encode(who) + b',"tool":'
        )  # fmt: skip
        entries += [head + t.wire + b"}" for t in index.select([provider], names)]
    return _offset_page(entries, start, size)


async def available_tools(
    session: AsyncSession,
    principal: Principal,
    indexes: IndexCache,
    *,
    identifier: str | None,
    page_size: str | None = None,
    page_token: str | None = None,
) -> bytes:
    """The tools of every enabled connection's provider: what `identifier` can use now or
    after authorizing (scoped lists the ones usable right now)."""
    _required_identifier(identifier)
    env_id = principal.environment_id
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    start = _offset(page_token)
    providers = sorted(
        {c.provider_identifier for c in await store.enabled_connections(session, env_id)}
    )
    rows = (await indexes.get(session, env_id)).select(providers) if providers else []
    return _offset_page([r.wire for r in rows], start, size)


def _stem(word: str) -> str:
    """A crude English stem, so `issues` finds `create_issue`."""
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _score(row: Listed, words: list[str], phrase: str) -> float:
    name = row.name_lower
    name_words = {_stem(w) for w in _WORD.findall(name.replace("_", " "))}
    text = row.description_lower
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
        if word == row.provider:
            score += 2
    return score


#: Scalekit's `top_k`: 0 (proto3's unset) means this many, more is capped
DEFAULT_TOP_K = 10
MAX_TOP_K = 50
_READINESS = {
    "ACTIVE": "TOOL_READINESS_STATE_READY",
    "EXPIRED": "TOOL_READINESS_STATE_NEEDS_REAUTH",
}


def _ranked(index: ToolIndex, providers: list[str], query: str) -> list[tuple[float, Listed]]:
    phrase = query.strip().lower()
    words = _WORD.findall(phrase)
    scored = [(s, r) for r in index.select(providers) if (s := _score(r, words, phrase)) > 0]
    scored.sort(key=lambda item: (-item[0], item[1].name))
    return scored


def _query(raw: dict[str, Any], violations: list[FieldViolation]) -> str:
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        violations.append(FieldViolation("query", "is required (words to look for)"))
        return ""
    return query


async def search_tools(
    session: AsyncSession, principal: Principal, indexes: IndexCache, raw: Any
) -> SearchToolsResponse | SearchToolsFullResponse:
    """`POST /api/v1/tools:search`: Scalekit's `{query, identifier?, top_k?}` →
    `{tools: [{name, provider, description, score, connections}]}`, or with `view: "full"`
    authrelay's `{query, providers?, limit?}` → `{results: [{score, tool}], total_size}`.
    The best matches first, either way."""
    if not isinstance(raw, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    view = raw.get("view", "")
    if view not in ("", "basic", "full"):
        raise InvalidArgument.field("view", "must be basic (Scalekit's answer) or full")
    if view == "full":
        return await _search_full(session, principal, indexes, raw)
    return await _search_basic(session, principal, indexes, raw)


async def _search_basic(
    session: AsyncSession, principal: Principal, indexes: IndexCache, raw: dict[str, Any]
) -> SearchToolsResponse:
    fields = {"query", "identifier", "top_k", "view"}
    violations = [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - fields)]
    query = _query(raw, violations)
    identifier, top_k = raw.get("identifier"), raw.get("top_k")
    if identifier is not None and (not isinstance(identifier, str) or len(identifier) > 255):
        violations.append(FieldViolation("identifier", "must be a string of 0-255 characters"))
    if top_k is None:
        top_k = 0
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        violations.append(FieldViolation("top_k", "must be an integer >= 0 (0: 10; at most 50)"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    assert isinstance(top_k, int)
    env_id = principal.environment_id
    ranked = _ranked(await indexes.get(session, env_id), [], query)
    ranked = ranked[: min(top_k or DEFAULT_TOP_K, MAX_TOP_K)]
    by_provider: dict[str, list[ConnectionReadinessBody]] = {}
    if isinstance(identifier, str) and identifier:
        for account, connection in await store.accounts_of(session, env_id, identifier):
            state = _READINESS.get(account.status, "TOOL_READINESS_STATE_NEEDS_CONNECTION")
            by_provider.setdefault(connection.provider_identifier, []).append(
                {
                    "connection_name": connection.name,
                    "connected_account_id": account.id,
                    "readiness_state": cast(ToolReadinessState, state),
                }
            )
    return {
        "tools": [
            {
                "name": row.name,
                "provider": row.tool["provider"],
                "description": row.description,
                "score": score,
                "connections": list(by_provider.get(row.provider, [])),
            }
            for score, row in ranked
        ]
    }


async def _search_full(
    session: AsyncSession, principal: Principal, indexes: IndexCache, raw: dict[str, Any]
) -> SearchToolsFullResponse:
    fields = {"query", "providers", "limit", "view"}
    violations = [FieldViolation(k, f"unknown field {k!r}") for k in sorted(set(raw) - fields)]
    query = _query(raw, violations)
    providers, limit = raw.get("providers", []), raw.get("limit", 10)
    if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
        violations.append(FieldViolation("providers", "must be a list of provider identifiers"))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        violations.append(FieldViolation("limit", "must be an integer from 1 to 100"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    assert isinstance(providers, list) and isinstance(limit, int)
    index = await indexes.get(session, principal.environment_id)
    scored = _ranked(index, _providers(providers), query)
    return {
        "results": [{"score": s, "tool": r.tool} for s, r in scored[:limit]],
        "total_size": len(scored),
    }
