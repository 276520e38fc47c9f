"""Everything a running server holds: settings, database, key ring, token service, catalog,
the proxy's HTTP client and caches. Built once in the app's lifespan (`create_runtime`),
never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass, field

import aiohttp

from authrelay.auth.jwt_keys import KeySet
from authrelay.auth.signing_keys import ensure_signing_key, load_signing_keys
from authrelay.auth.tokens import TokenService
from authrelay.config import ConfigError, Settings
from authrelay.context import ServiceContext
from authrelay.dashboard.passwords import PasswordChecks
from authrelay.mcp.authserver import MetadataCache
from authrelay.mcp.oidc import RemoteDocuments
from authrelay.netguard import GuardedResolver, guard_middleware
from authrelay.oauth.refresh import Refresher
from authrelay.observability import Metrics
from authrelay.providers.catalog import Catalog, load_catalog
from authrelay.proxy.cache import LastUsed, ProxyCache, run_periodically
from authrelay.proxy.cache_metrics import register_cache_metrics
from authrelay.proxy.routes import ProviderCache, provider_cache
from authrelay.store import AsyncEngine, AsyncSession, DBAPIError, async_sessionmaker, db
from authrelay.store.builtin_tools import builtin_tools
from authrelay.store.environments import create_default_environments
from authrelay.store.proxy_targets import (
    AsyncpgReader,
    EngineReader,
    SqliteReader,
    target_reader,
)
from authrelay.tools.cache import ToolCache
from authrelay.tools.call_log import CallLog
from authrelay.tools.index import IndexCache
from authrelay.vault import KeyRing, load_keyring
from authrelay.vault.keyring import VaultError

log = logging.getLogger("authrelay")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    tokens: TokenService
    catalog: Catalog
    metrics: Metrics
    http: aiohttp.ClientSession  # OAuth endpoints (token, user info)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Built once from the fields above (see __post_init__).
    proxy_cache: ProxyCache = field(init=False)
    provider_cache: ProviderCache = field(init=False)  # parsed custom-provider definitions
    last_used: LastUsed = field(init=False)
    read_sessions: async_sessionmaker[AsyncSession] = field(init=False)  # no transaction
    targets: EngineReader | SqliteReader | AsyncpgReader = field(init=False)  # route misses
    refresher: Refresher = field(init=False)
    proxy_http: aiohttp.ClientSession = field(init=False)  # the proxy's, same connection pool
    services: ServiceContext = field(init=False)
    tool_index: IndexCache = field(init=False)  # tool lists, per cache generation
    tool_cache: ToolCache = field(init=False)  # tool calls' and MCP's lookups
    passwords: PasswordChecks = field(init=False)  # dashboard sign-ins' hashes, off the loop
    call_log: CallLog = field(init=False)  # tool calls queued for the tool_call_logs table
    remote_docs: RemoteDocuments = field(init=False)  # MCP sign-in: OIDC discovery, JWKS
    as_metadata: MetadataCache = field(init=False)  # MCP authorization server metadata

    def __post_init__(self) -> None:
        s = self.settings
        self.proxy_cache = ProxyCache(s.proxy_cache_max_entries, s.proxy_cache_max_bytes)
        self.provider_cache = provider_cache(
            s.provider_cache_max_entries, s.provider_cache_max_bytes
        )
        self.last_used = LastUsed()
        self.tool_cache = ToolCache(s.tool_cache_max_entries, s.tool_cache_max_bytes)
        self.call_log = CallLog(s.tool_call_log_queue_max, self.metrics.tool_call_logs_dropped)
        self.read_sessions = db.read_only_session_factory(self.engine)
        self.targets = target_reader(self.engine, s.resolved_database_url)
        self.tool_index = IndexCache(self.fresh_generation)
        self.refresher = Refresher(
            self.sessions,
            self.keyring,
            self.catalog,
            self.http,
            self.invalidate_accounts,
            self.settings.allowlist,
        )
        self.proxy_http = create_proxy_client(self.settings, self.http)
        self.passwords = PasswordChecks(self.metrics.password_checks.inc)
        self.remote_docs = RemoteDocuments(self.http)
        self.as_metadata = MetadataCache()
        self.services = ServiceContext(
            self.catalog,
            self.settings.allowlist,
            self.keyring,
            self.settings.base_url,
            self.invalidate,
            self.invalidate_accounts,
            self.settings.max_tools_per_provider,
            self.settings.list_count_limit,
        )

    def invalidate(self, moved_to: int | None = None) -> None:
        """Drop this process's cached lookups (proxy routes and tools) after a change;
        `moved_to`: the configuration generation this process's change committed."""
        self.proxy_cache.invalidate()
        self.tool_cache.clear()
        self.services.targets.clear()
        self._own_move("config", moved_to)

    def invalidate_accounts(self, moved_to: int | None = None) -> None:
        """Drop what depends on connected accounts, after a change of accounts only."""
        self.proxy_cache.invalidate_accounts()
        self.tool_cache.accounts.clear()
        self._own_move("accounts", moved_to)

    def _own_move(self, kind: str, moved_to: int | None) -> None:
        """After this process moved a generation by one and dropped what depended on it,
        the move counts as seen: the next poll must not drop the caches a second time
        (filled again since). Any other move (another process's too) is left to the poll."""
        seen = self.proxy_cache.generation
        if seen is not None and moved_to is not None and getattr(seen, kind) + 1 == moved_to:
            self.proxy_cache.generation = seen._replace(**{kind: moved_to})

    async def fresh_generation(self) -> int:
        """The cache generations read now (on SQLite without a thread hand-off): when one
        moved, this process drops what depends on it. Returns the configuration's (the
        tool lists are built per configuration generation)."""
        current = await self.targets.generation()
        seen, self.proxy_cache.generation = self.proxy_cache.generation, current
        if seen is not None and seen.config != current.config:
            self.invalidate()
        elif seen is not None and seen.accounts != current.accounts:
            self.invalidate_accounts()
        return current.config

    def start_background(self) -> None:
        s = self.settings
        self.tasks = [
            asyncio.create_task(run_periodically(s.cache_poll_seconds, self._poll, "cache-poll")),
            asyncio.create_task(
                run_periodically(s.last_used_flush_seconds, self._flush, "last-used-flush")
            ),
            asyncio.create_task(
                self.call_log.run(
                    self.sessions,
                    s.tool_call_log_flush_seconds,
                    s.tool_call_log_retention_days,
                    time.time,
                )
            ),
        ]

    async def _poll(self) -> None:
        await self.fresh_generation()

    async def _flush(self) -> None:
        await self.last_used.flush(self.sessions)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.last_used.flush(self.sessions)
        try:
            await self.call_log.flush(self.sessions)
        except Exception:
            log.warning("tool call logs not written at shutdown", exc_info=True)
        self.passwords.close()
        await self.proxy_http.close()
        await self.http.close()  # closes the shared connector too
        if isinstance(self.targets, SqliteReader):
            self.targets.close()
        elif isinstance(self.targets, AsyncpgReader):
            await self.targets.close()
        await self.engine.dispose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return f"no answer within {db.CONNECT_TIMEOUT_SECONDS} seconds"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def prepare_database(settings: Settings) -> tuple[AsyncEngine, KeyRing, list[str]]:
    """Migrate, create default environments and the signing key; return created env names.
    A data folder that cannot be created or a database that cannot be reached raises
    ConfigError naming the setting."""
    url = settings.resolved_database_url
    try:
        keyring = load_keyring(
            settings.master_keys.get_secret_value() if settings.master_keys else None,
            settings.data_dir,
        )
        engine = db.create_engine(url)
    except OSError as exc:
        raise ConfigError("AUTHRELAY_DATA_DIR", f"{settings.data_dir}: {_reason(exc)}") from None
    except VaultError as exc:
        setting = "AUTHRELAY_MASTER_KEYS" if settings.master_keys else "AUTHRELAY_DATA_DIR"
        raise ConfigError(setting, str(exc)) from None
    setting = "DATABASE_URL" if settings.database_url else "AUTHRELAY_DATA_DIR"
    try:
        async with engine.connect():
            pass
    except (OSError, TimeoutError, DBAPIError) as exc:
        await engine.dispose()
        raise ConfigError(
            setting, f"cannot connect to {db.describe_url(url)}: {_reason(exc)}"
        ) from None
    await db.upgrade(engine)
    sessions = db.session_factory(engine)
    created = await create_default_environments(sessions)
    await ensure_signing_key(sessions, keyring)
    return engine, keyring, [e.name for e in created]


def create_http_client(settings: Settings) -> aiohttp.ClientSession:
    """One pooled client per process for every upstream call (keep-alive, guarded DNS);
    this session (OAuth's) also checks IP literals on every request and redirect hop
    (`netguard.guard_middleware`), which the resolver never sees."""
    tls = ssl.create_default_context()
    if settings.proxy_ca_file is not None:
        tls.load_verify_locations(cafile=str(settings.proxy_ca_file))
    connector = aiohttp.TCPConnector(
        ssl=tls,
        limit=0,
        limit_per_host=0,
        ttl_dns_cache=30,
        resolver=GuardedResolver(settings.allowlist),
        keepalive_timeout=30,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),
        middlewares=(guard_middleware(settings.allowlist),),
    )


def create_proxy_client(settings: Settings, http: aiohttp.ClientSession) -> aiohttp.ClientSession:
    """The proxy's client: the same connector (pool, guarded DNS, TLS) as `http`, with the
    proxy's defaults set once on the session rather than on every call: connect and read
    timeouts, no automatic headers (the caller's User-Agent, Accept, Accept-Encoding and
    Content-Type pass as sent, or not at all), no cookies, bodies relayed as they come. No
    guard middleware: the proxy checks IP literals itself, when a route is loaded and on
    each redirect hop (proxy/routes.py, proxy/send.py), off the hot path."""
    assert http.connector is not None
    return aiohttp.ClientSession(
        connector=http.connector,
        connector_owner=False,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.proxy_connect_timeout,
            sock_read=settings.proxy_read_timeout,
        ),
    )


async def create_runtime(settings: Settings, metrics: Metrics | None = None) -> Runtime:
    builtin_tools()  # a broken shipped tool file stops the start, not a later call
    engine, keyring, _ = await prepare_database(settings)
    sessions = db.session_factory(engine)
    async with sessions() as session:
        active, published = await load_signing_keys(session, keyring)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keyring=keyring,
        tokens=TokenService(KeySet.build(active, list(published)), settings.token_ttl_seconds),
        catalog=load_catalog(settings.builtin_upstream_override),
        metrics=metrics or Metrics(),
        http=create_http_client(settings),
    )
    await runtime.fresh_generation()
    proxy, tools = runtime.proxy_cache, runtime.tool_cache
    register_cache_metrics(
        runtime.metrics,
        {
            "routes": proxy.routes,
            "negatives": proxy.negatives,
            "clients": proxy.clients,
            "providers": runtime.provider_cache,
            "tools": tools.tools,
            "tool_targets": tools.accounts,
            "mcp": tools.mcp,
        },
    )
    runtime.start_background()
    return runtime
