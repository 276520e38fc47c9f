"""What a proxied call uses of the running server, named by the engines (a tool call:
`tools.execute.ToolParts`).

`runtime.Runtime` (the layer above, docs/architecture.md "Layers") provides these parts; the
proxy and `tools/execute.py` name only this protocol, so they never import the runtime that
assembles them. Read-only properties: a dataclass field satisfies each one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import aiohttp

    from authrelay.auth.tokens import TokenService
    from authrelay.config import Settings
    from authrelay.oauth.refresh import Refresher
    from authrelay.observability import Metrics
    from authrelay.providers.catalog import Catalog
    from authrelay.proxy.cache import LastUsed, ProxyCache
    from authrelay.proxy.routes import ProviderCache
    from authrelay.store import AsyncSession, async_sessionmaker
    from authrelay.store.proxy_targets import TargetReader
    from authrelay.vault import KeyRing


class ProxyParts(Protocol):
    """The parts the proxy's steps read: settings, sessions, caches, the refresher, the pool."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def keyring(self) -> KeyRing: ...
    @property
    def tokens(self) -> TokenService: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def proxy_cache(self) -> ProxyCache: ...
    @property
    def provider_cache(self) -> ProviderCache: ...
    @property
    def last_used(self) -> LastUsed: ...
    @property
    def targets(self) -> TargetReader: ...
    @property
    def refresher(self) -> Refresher: ...
    @property
    def proxy_http(self) -> aiohttp.ClientSession: ...
