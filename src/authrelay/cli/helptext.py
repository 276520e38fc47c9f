"""Help output: flags (`--json`, `--yes`, …) take no value, so they show no type label.

Recent Typer versions print a `<bool>` label next to every flag in `--help`; this drops it
for flags only (options that take a value keep theirs). Older versions print none.
"""

from __future__ import annotations

from typing import Any


def drop_flag_labels() -> None:
    from typer import core

    option = getattr(core, "TyperOption", None)
    original = getattr(option, "display_type_rich", None)
    if option is None or original is None or getattr(original, "_flags_plain", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        if getattr(self, "is_flag", False) and not getattr(self, "count", False):
            return None
        return original(self, ctx)

    display_type_rich._flags_plain = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich
