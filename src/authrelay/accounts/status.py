"""What a caller is told when a connected account cannot be used: shared by the proxy (a
route to an account that is not ACTIVE) and OAuth (a renewal that finds it so)."""

from __future__ import annotations

from authrelay.errors import FailedPrecondition


def not_active(identifier: str, status: str) -> FailedPrecondition:
    """The refusal for a call through the account of `identifier`, which is `status`."""
    return FailedPrecondition(
        f"the connected account for {identifier!r} is {status}; the user must (re-)authorize "
        "it: create a new authorization link (POST /api/v1/connected_accounts/magic_link) "
        "and send it to them"
    )
