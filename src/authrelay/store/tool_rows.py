"""A row of the tools table from a validated tool: one mapping of a tool's input to the
columns, for custom tools (tools/service.py) and the built-in ones (store/builtin_tools.py)."""

from __future__ import annotations

from datetime import datetime

from authrelay.store.models import Tool
from authrelay.tools.model import ToolInput


def fill(row: Tool, tool: ToolInput, provider_identifier: str, source: str, at: datetime) -> None:
    """Set the columns the tool's input decides, as changed `at`."""
    row.provider_identifier = provider_identifier
    row.name = tool.definition.name
    row.definition = tool.definition.model_dump(exclude_none=True)
    row.binding = tool.public_binding()
    row.tool_metadata = tool.metadata
    row.tags = tool.tags
    row.source = source
    row.updated_at = at


def new_row(
    tool: ToolInput,
    tool_id: str,
    environment_id: str,
    provider_identifier: str,
    source: str,
    at: datetime,
) -> Tool:
    """A new (unsaved) row for the tool, created `at`."""
    row = Tool(id=tool_id, environment_id=environment_id, is_default=True, created_at=at)
    fill(row, tool, provider_identifier, source, at)
    return row
