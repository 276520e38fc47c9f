"""NUL characters are refused at the edge: in query and path parameters here, in JSON
bodies by `request_body` (why: see there)."""

from __future__ import annotations

from starlette.requests import Request

from authrelay.errors import FieldViolation, InvalidArgument
from authrelay.request_body import MESSAGE


async def refuse_nul_parameters(request: Request) -> None:
    """App-wide dependency: no query or path parameter value holds a NUL."""
    bad = [name for name, value in request.path_params.items() if "\x00" in str(value)]
    bad += [name for name, value in request.query_params.multi_items() if "\x00" in value]
    if bad:
        names = sorted(set(bad))
        raise InvalidArgument.from_violations([FieldViolation(n, MESSAGE) for n in names])
