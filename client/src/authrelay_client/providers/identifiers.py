"""Provider identifiers: derived once from the display name and never changed (SPEC §3)."""

from __future__ import annotations

import hashlib


def derive_identifier(display_name: str) -> str:
    """``"My Asana"`` → ``"myasana"``: lower-case, every non-alphanumeric removed."""
    return "".join(ch for ch in display_name.lower() if ch.isascii() and ch.isalnum())


def builtin_provider_id(identifier: str) -> str:
    """A stable opaque id for a built-in provider, the same on every server."""
    return "prv_" + hashlib.sha256(f"builtin:{identifier}".encode()).hexdigest()[:20]
