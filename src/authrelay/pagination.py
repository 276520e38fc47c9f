"""Page sizes and opaque page tokens (base64url JSON of a keyset position)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from authrelay.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50


def parse_page_size(value: str | None, maximum: int, default: int = DEFAULT_PAGE_SIZE) -> int:
    if value is None or value == "":
        return default
    try:
        size = int(value)
    except ValueError:
        raise InvalidArgument.field("page_size", "must be an integer") from None
    if size < 0 or size > maximum:
        raise InvalidArgument.field("page_size", f"must be between 0 and {maximum}")
    return size or default


def encode_cursor(position: Any) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidArgument.field("page_token", "is not a valid page token") from None


def bad_token() -> InvalidArgument:
    return InvalidArgument.field("page_token", "is not a valid page token")
