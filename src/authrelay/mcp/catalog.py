"""Which tools one MCP URL serves to one end user, and under which names. Read from the
database on every request (the server keeps no state between requests)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from authrelay.store import AsyncSession
from authrelay.store import connections as connection_store
from authrelay.store import tools as tool_store
from authrelay.tools.model import is_read_only
from authrelay_client.wire import JSONObject

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 128  # MCP tool names: 1-128 of A-Z a-z 0-9 _ - .


@dataclass(frozen=True)
class Served:
    name: str  # the MCP tool name
    connection: str
    tool_name: str  # the stored tool's name
    definition: JSONObject


def prefixed(connection: str, tool: str) -> str:
    """`{connection}__{tool}`, in MCP's name alphabet and length."""
    return _UNSAFE.sub("_", f"{connection}__{tool}")[:MAX_NAME]


async def served_tools(
    session: AsyncSession, env_id: str, mappings: list[dict[str, Any]], read_only: bool
) -> dict[str, Served]:
    """MCP name → tool. `mappings` are `{connection_name, tools}` (empty tools: all of the
    provider's). When two of the connections share a provider, that provider's tool names
    carry the connection name (`{connection}__{tool}`) so both accounts stay reachable."""
    picked: list[tuple[str, str, list[str]]] = []
    for mapping in mappings:
        row = await connection_store.by_name(session, env_id, mapping["connection_name"])
        if row is None or not row.enabled:
            continue
        picked.append((row.name, row.provider_identifier, mapping.get("tools", [])))
    shared = Counter(provider for _, provider, _ in picked)
    served: dict[str, Served] = {}
    for connection, provider, wanted in picked:
        for tool in await tool_store.page(session, env_id, providers=[provider], names=wanted):
            if read_only and not is_read_only(tool.definition):
                continue
            name = prefixed(connection, tool.name) if shared[provider] > 1 else tool.name
            served[name] = Served(name, connection, tool.name, tool.definition)
    return served
