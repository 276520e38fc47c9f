"""NUL characters are refused at the edge: PostgreSQL cannot store or compare text that
holds U+0000 (SQLite can), so one rule keeps both backends alike and turns what would be a
database error into a SPEC §2 answer naming each field."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.providers.validation import format_loc

MESSAGE = "must not contain NUL characters (U+0000)"


def nul_fields(value: Any) -> list[str]:
    """Paths (as SPEC §2 field names) of the strings, keys included, that hold a NUL."""
    found: list[str] = []
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), value)]
    while stack:  # iterative: bodies may nest deeply
        loc, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(format_loc(loc) or "body")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if "\x00" in key:
                    found.append(format_loc((*loc, key)) or "body")
                stack.append(((*loc, key), sub))
        elif isinstance(item, list):
            stack.extend(((*loc, i), sub) for i, sub in enumerate(item))
    return sorted(set(found))


def refuse_nul(value: Any) -> None:
    fields = nul_fields(value)
    if fields:
        raise InvalidArgument.from_violations([FieldViolation(f, MESSAGE) for f in fields])


async def refuse_nul_parameters(request: Request) -> None:
    """App-wide dependency: no query or path parameter value holds a NUL."""
    bad = [name for name, value in request.path_params.items() if "\x00" in str(value)]
    bad += [name for name, value in request.query_params.multi_items() if "\x00" in value]
    if bad:
        names = sorted(set(bad))
        raise InvalidArgument.from_violations([FieldViolation(n, MESSAGE) for n in names])
