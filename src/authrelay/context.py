"""What services need from the running server, handed to them explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authrelay.providers.catalog import Catalog
from authrelay.vault import KeyRing
from authrelay_client.providers.allowlist import UpstreamAllowlist

#: drops this process's cached lookups after a change it committed; given the generation
#: the change moved to (None: not known), so that the process's own poll does not drop
#: them a second time (`Runtime.invalidate`)
Invalidate = Callable[[int | None], None]


def _nothing(moved_to: int | None = None) -> None:
    return None


@dataclass(frozen=True)
class ServiceContext:
    catalog: Catalog
    allowlist: UpstreamAllowlist
    keyring: KeyRing
    public_url: str
    #: drops this process's cached lookups after a change (other processes poll)
    invalidate: Invalidate = field(default=_nothing)
    #: the same after a change of connected accounts only (what depends on accounts)
    invalidate_accounts: Invalidate = field(default=_nothing)
    max_tools_per_provider: int = 1000
    #: filtered lists count `total_size` up to this many rows (0: no limit; docs/api.md)
    count_limit: int = 1000
    #: (environment id, connector) → the connection and parsed provider account creation
    #: needs; dropped with every other cached lookup when the configuration changes
    #: (`invalidate`; other processes: when they see the configuration generation move)
    targets: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/oauth/callback"
