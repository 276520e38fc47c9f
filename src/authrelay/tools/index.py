"""Each environment's tools as the lists serve them, built once per cache generation and
kept per process: the rows in `seq` order (built-in tools first), each with its wire JSON
already encoded, lower-cased name and description for `filter.query`, and the lists by
provider. A list request is then the generation check (one small query), filters over
memory and the page's pre-encoded entries joined into the answer: no rows read, no JSON
built per request. A change anywhere moves the generation in the same transaction, so the
next list on any replica rebuilds."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from authrelay.store import AsyncSession
from authrelay.store import cache as cache_store
from authrelay.store import tools as store
from authrelay.store.models import Tool
from authrelay.tools.views import tool_json
from authrelay_client.wire import ToolBody

MAX_ENVIRONMENTS = 64  # indexes kept per process (a few MB each at thousands of tools)


def encode(body: Any) -> bytes:
    """JSON exactly as Starlette's `JSONResponse` writes it."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


@dataclass(frozen=True, eq=False)
class Listed:
    """One tool of an index: plain data taken from the row (rows are not kept, so a later
    rollback of the session that read them cannot expire what the index holds)."""

    seq: int
    name: str
    provider: str
    description: str
    name_lower: str
    description_lower: str
    tool: ToolBody  # `toolsTool`
    wire: bytes  # `tool` as JSON
    binding: dict[str, Any]
    source: str

    def matches(self, needle: str) -> bool:
        """`filter.query`: the lower-cased text in the name or description."""
        return needle in self.name_lower or needle in self.description_lower


def _listed(row: Tool) -> Listed:
    description = row.definition.get("description", "")
    description = description if isinstance(description, str) else ""
    tool = tool_json(row)
    return Listed(
        seq=row.seq,
        name=row.name,
        provider=row.provider_identifier,
        description=description,
        name_lower=row.name.lower(),
        description_lower=description.lower(),
        tool=tool,
        wire=encode(tool),
        binding=row.binding,
        source=row.source,
    )


@dataclass(frozen=True, eq=False)
class ToolIndex:
    """The tools of one environment at one cache generation."""

    generation: int
    entries: list[Listed]
    by_provider: dict[str, list[Listed]]
    full: dict[int, bytes] = field(default_factory=dict)  # seq → full view JSON, as asked

    @classmethod
    def build(cls, generation: int, rows: Sequence[Tool]) -> ToolIndex:
        entries = [_listed(r) for r in rows]
        by_provider: dict[str, list[Listed]] = {}
        for entry in entries:
            by_provider.setdefault(entry.provider, []).append(entry)
        return cls(generation, entries, by_provider)

    def select(self, providers: Collection[str] = (), names: Collection[str] = ()) -> list[Listed]:
        """The entries of `providers` (all when empty) named one of `names` (any when
        empty), in `seq` order."""
        if providers:
            chosen = [e for p in set(providers) for e in self.by_provider.get(p, ())]
            chosen.sort(key=lambda e: e.seq)
        else:
            chosen = self.entries
        if names:
            wanted = set(names)
            chosen = [e for e in chosen if e.name in wanted]
        return chosen

    def full_wire(self, entry: Listed) -> bytes:
        """The entry's full view (`toolsTool` plus binding and source) JSON."""
        found = self.full.get(entry.seq)
        if found is None:
            body = {**entry.tool, "binding": entry.binding, "source": entry.source}
            found = self.full[entry.seq] = encode(body)
        return found


def after(entries: list[Listed], seq: int | None) -> list[Listed]:
    """The entries after `seq` (keyset pages), by bisection: entries are in `seq` order."""
    if seq is None:
        return entries
    return entries[bisect_right(entries, seq, key=lambda e: e.seq) :]


class IndexCache:
    """`ToolIndex` per environment, replaced when the generation in the database moved.
    `generation` reads it (the runtime's, which needs no thread hand-off on SQLite); without
    one it is read in the caller's session."""

    def __init__(
        self,
        generation: Callable[[], Awaitable[int]] | None = None,
        max_environments: int = MAX_ENVIRONMENTS,
    ) -> None:
        self.indexes: dict[str, ToolIndex] = {}
        self.generation = generation
        self.max_environments = max_environments

    async def get(self, session: AsyncSession, env_id: str) -> ToolIndex:
        # The generation is read before the rows: rows newer than it are harmless (the
        # next request sees a newer generation and rebuilds), older ones cannot happen.
        if self.generation is not None:
            generation = await self.generation()
        else:
            generation = (await cache_store.current(session)).config
        index = self.indexes.get(env_id)
        if index is None or index.generation != generation:
            index = ToolIndex.build(generation, await store.page(session, env_id))
            if env_id not in self.indexes and len(self.indexes) >= self.max_environments:
                self.indexes.pop(next(iter(self.indexes)))
            self.indexes[env_id] = index
        return index
