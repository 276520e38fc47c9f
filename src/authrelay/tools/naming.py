"""Generated tool names: `{provider}_{operation}` in `[a-z0-9_]`, at most 64 characters,
unique within an import (a short hash of the original name on collision or truncation)."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_MAX_PROVIDER_PART = 30


def snake(text: str) -> str:
    """`getUserByID` → `get_user_by_id`; every run of other characters becomes one `_`."""
    spaced = _CAMEL.sub("_", text)
    return _NOT_ALLOWED.sub("_", spaced.lower()).strip("_")


def operation_part(operation_id: str, method: str, path: str) -> str:
    """The operation's name: its operationId, else the method and the path's words."""
    return snake(operation_id) or snake(f"{method} {path.replace('{', 'by ')}") or method.lower()


def _hashed(base: str, original: str) -> str:
    digest = hashlib.sha256(original.encode()).hexdigest()[:8]
    return f"{base[: MAX_NAME - 9].rstrip('_')}_{digest}"


def tool_name(provider: str, operation: str, taken: set[str]) -> str:
    """A valid name not in `taken` (which it joins)."""
    prefix = snake(provider)[:_MAX_PROVIDER_PART].strip("_") or "tool"
    full = f"{prefix}_{operation}" if operation else prefix
    name = full if len(full) <= MAX_NAME else _hashed(full, full)
    salt = 0
    while name in taken:
        salt += 1
        name = _hashed(full, f"{full}#{salt}")
    taken.add(name)
    return name
