"""What a token renewal answers (oauth/refresh.py and the renewals it drives)."""

from __future__ import annotations

from typing import NamedTuple


class TokenVersion(NamedTuple):
    """An account's token as a renewal left it: the row's `token_version` (a route loaded
    from the row at or after it carries the new token) and when that token expires (epoch
    seconds; None when the token endpoint did not say). The token itself stays encrypted in
    the row, for its user to load."""

    version: int
    expires_at: float | None
