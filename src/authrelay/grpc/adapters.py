"""Per-method adapters: where a method's messages and its REST twin's JSON differ in shape, a
function on either side of the generic mapping. Keyed by the method's path; a method absent
here needs none. Each entry says which difference it bridges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Fields = dict[str, Any]


@dataclass(frozen=True)
class Adapter:
    request: Callable[[Fields], Fields] | None = None  # message JSON → REST request JSON
    response: Callable[[Fields], Fields] | None = None  # REST answer → message JSON


ADAPTERS: dict[str, Adapter] = {}
