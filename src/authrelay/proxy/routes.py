"""Resolving (environment, connection name, identifier) to everything a proxied call needs,
cached per process and dropped whenever the cache generation moves (see `ProxyCache`)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from yarl import URL

from authrelay.accounts.credentials import CREDENTIAL_NAMES, is_secret, oauth_placeholder_values
from authrelay.accounts.secrets import decrypt_account_secrets
from authrelay.accounts.status import not_active
from authrelay.bounded_cache import BoundedCache, text_size
from authrelay.errors import (
    AuthrelayError,
    FailedPrecondition,
    InternalError,
    NotFound,
    PermissionDenied,
)
from authrelay.netguard import BlockedAddress, check_host
from authrelay.oauth.exchange_renewal import stored_token
from authrelay.providers.catalog import Catalog
from authrelay.providers.injection_rules import CREDENTIAL_VALUES
from authrelay.providers.service import ResolvedProvider, parse_stored
from authrelay.proxy.inject import credential_header
from authrelay.proxy.placement import Headers, query_pair, request_headers, template_values
from authrelay.redact import header_secrets
from authrelay.store import AsyncSession
from authrelay.store.db import as_utc
from authrelay.store.proxy_targets import ProxyTarget, SessionReader, TargetReader
from authrelay.vault import KeyRing
from authrelay_client.codes import Code
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.model import AuthPattern, RetryPolicy
from authrelay_client.providers.urls import HostNotAllowed, fill_placeholders


class PlaceholderRejected(AuthrelayError):
    """A stored value cannot fill a proxy_url placeholder (SPEC §3 value checks)."""

    code = Code.INVALID_ARGUMENT
    http_status = Code.INVALID_ARGUMENT.http_status


_RENEWED = frozenset({"OAUTH", "TOKEN_EXCHANGE"})


# Header names as they appear in an ASGI scope, one object for all the routes that add the
# same headers (most accounts of a provider): per route they were ~130 bytes of its memory.
@functools.lru_cache(maxsize=1024)
def _header_key(name: str) -> bytes:
    return name.lower().encode("latin-1")


@functools.lru_cache(maxsize=1024)
def _header_keys(names: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(_header_key(name) for name in names)


@dataclass(frozen=True, slots=True)
class Route:
    account_id: str
    base_url: str  # proxy_url with placeholders filled, no trailing slash
    origin: tuple[str, str, int]  # scheme, host, port of base_url
    base_path: str
    header_name: str
    header_value: str = field(repr=False)  # the credential: never in a repr
    pattern: AuthPattern
    token_version: int = 0
    expires_at: float | None = None  # OAuth access tokens and exchanged tokens only
    loaded_at: float = 0.0
    # What a call adds (SPEC §3a): by default the credential header alone; with
    # auth_query_param the credential goes in `query_pair` ("name=value") instead, and
    # proxy_headers add filled templates (which may carry the credential themselves).
    headers: Headers | None = field(default=None, repr=False)
    defaults: Headers = ()  # fixed proxy_headers, sent when the caller did not send them
    query_param: str = ""
    query_pair: str = field(default="", repr=False)
    retry: RetryPolicy | None = None  # None: one attempt (no policy, or max_attempts 1)
    # The credentials this route sends, as they are: blanked out of upstream error bodies
    # before a tool passes them on (authrelay.redact).
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # Derived once here rather than on every proxied call.
    oauth: bool = field(init=False)  # a token the Refresher renews (OAUTH, TOKEN_EXCHANGE)
    header_key: bytes = field(init=False)  # header_name as it appears in an ASGI scope
    sent: Headers = field(init=False, repr=False)  # the headers every call adds
    sent_keys: frozenset[bytes] = field(init=False)  # their names as in an ASGI scope

    def __post_init__(self) -> None:
        object.__setattr__(self, "oauth", self.pattern.type in _RENEWED)
        object.__setattr__(self, "header_key", _header_key(self.header_name))
        sent = ((self.header_name, self.header_value),) if self.headers is None else self.headers
        object.__setattr__(self, "sent", sent)
        object.__setattr__(self, "sent_keys", _header_keys(tuple(name for name, _ in sent)))

    def size(self) -> int:
        """Estimated bytes this route holds on its own (its pattern is shared with every
        route of the provider and not counted): the object, its strings and its origin."""
        return (
            200
            + text_size(
                self.account_id,
                self.base_url,
                self.base_path,
                self.header_name,
                self.header_value,
                self.origin[1],
                self.query_pair,
                *self.secrets,
            )
            + sum(text_size(n, v) + 64 for n, v in (*(self.headers or ()), *self.defaults))
            + 3 * 64
        )

    def usable(self, margin: float) -> bool:
        """False when an OAuth token should be refreshed first: it expires within `margin`
        seconds, or within half of the life it had left when loaded, whichever is less."""
        if self.expires_at is None:
            return True
        left_at_load = max(self.expires_at - self.loaded_at, 0.0)
        return time.time() < self.expires_at - min(margin, left_at_load / 2)


def _fill(template: str, values: dict[str, str], allowlist: UpstreamAllowlist) -> str:
    try:
        return fill_placeholders(template, values, allowlist)
    except HostNotAllowed as exc:
        raise PermissionDenied(f"upstream target refused: {exc}") from None
    except ValueError as exc:
        raise PlaceholderRejected(f"{exc}; update the connected account") from None


ProviderCache = BoundedCache[tuple[str, int], ResolvedProvider]
_SECRET_KEYS = frozenset({*CREDENTIAL_NAMES, "access_token"})


def _secrets_sent(
    pattern: AuthPattern, secrets: dict[str, str], sent: Headers, pair: str
) -> tuple[str, ...]:
    """The credentials a route sends: its secret values (credential names and password
    fields), each credential header as the upstream gets it, and the query's value."""
    names = _SECRET_KEYS | {f.field_name for f in pattern.fields if is_secret(f)}
    values = [v for k, v in secrets.items() if v and k in names]
    out = list(values)
    for _name, value in sent:
        if any(v in value for v in values):
            out.extend(header_secrets(value))
    if pair:
        out.append(unquote_plus(pair.partition("=")[2]))
    return tuple(dict.fromkeys(v for v in out if v))


def _check_base(base: str, allowlist: UpstreamAllowlist) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of a filled proxy_url, once it is a valid http(s) URL to
    a host the proxy may reach (else PlaceholderRejected / PermissionDenied)."""
    url = URL(base, encoded=True)
    if url.scheme not in {"http", "https"} or not url.host:
        raise PlaceholderRejected("the provider's proxy_url does not make a valid URL")
    try:
        check_host(url.host, allowlist)
    except BlockedAddress as exc:
        raise PermissionDenied(f"upstream target refused: {exc}") from None
    return url.scheme, url.host, url.port or 0, url.raw_path.rstrip("/")


# Most accounts of a provider share one base URL: parse and check it once per process. At
# most 1,024 URLs of at most 512 characters are kept (longer ones are checked every time).
_checked_base = functools.lru_cache(maxsize=1024)(_check_base)


def _definition_size(_key: tuple[str, int], value: ResolvedProvider) -> int:
    # A parsed definition holds about six times the bytes of its JSON (measured with
    # tracemalloc on the catalog's definitions); the JSON is what we can count cheaply.
    return 6 * len(value.definition.model_dump_json()) + 2048


def provider_cache(max_entries: int, max_bytes: int) -> ProviderCache:
    """Parsed custom-provider definitions by (provider id, version), shared by every account
    of the provider: a cache miss parses a definition only when its version is new."""
    return BoundedCache(max_entries, max_bytes, _definition_size)


async def _provider(
    reader: TargetReader,
    catalog: Catalog,
    target: ProxyTarget,
    providers: ProviderCache | None,
) -> ResolvedProvider | None:
    identifier = target.provider_identifier
    if target.provider_id is None or target.provider_version is None:
        builtin = catalog.get(identifier)
        return ResolvedProvider(identifier, builtin.definition, False) if builtin else None
    key = (target.provider_id, target.provider_version)
    found = providers.get(key) if providers is not None else None
    if found is not None:
        return found
    stored = await reader.definition(target.provider_id)
    if stored is None:  # deleted since the first query
        return None
    definition, version = stored
    resolved = ResolvedProvider(identifier, parse_stored(definition), True)
    if providers is not None:
        providers.put((target.provider_id, version), resolved)
    return resolved


async def load_route(
    source: AsyncSession | TargetReader,
    keyring: KeyRing,
    catalog: Catalog,
    allowlist: UpstreamAllowlist,
    env_id: str,
    connection_name: str,
    identifier: str,
    *,
    providers: ProviderCache | None = None,
) -> Route:
    """Everything one proxied call needs, from one query (plus one more the first time a
    custom provider's definition version is seen when `providers` is given). `source`: a
    session (the queries run in it) or a reader (see store/proxy_targets.py)."""
    reader = SessionReader(source) if isinstance(source, AsyncSession) else source
    target = await reader.target(env_id, connection_name, identifier)
    if target is None:
        raise NotFound(f"no connection named {connection_name!r} in this environment")
    if not target.enabled:
        raise FailedPrecondition(f"connection {connection_name!r} is disabled; enable it first")
    provider = await _provider(reader, catalog, target, providers)
    pattern = provider.pattern(target.connection_type) if provider else None
    if provider is None or pattern is None:
        raise FailedPrecondition(
            f"connection {connection_name!r} refers to provider "
            f"{target.provider_identifier!r}, which no longer has a "
            f"{target.connection_type} pattern"
        )
    if not provider.definition.proxy_enabled:
        raise FailedPrecondition(
            f"provider {provider.identifier!r} has proxy_enabled: false; the tool proxy is off "
            "for it"
        )
    account_id = target.account_id
    if account_id is None:
        raise NotFound(
            f"no connected account for {identifier!r} on connection {connection_name!r}; "
            "create one or send the user an authorization link"
        )
    if target.status != "ACTIVE" or not target.secret_ct:
        raise not_active(identifier, target.status or "")
    stored = decrypt_account_secrets(keyring, account_id, target.secret_ct)
    fetch_first = False
    if pattern.type == "OAUTH":
        secrets = {"access_token": stored.get("access_token", "")}
        values = oauth_placeholder_values(target.api_config or {})
        if "values" in stored:  # client credentials: the inputs of a static-style form
            values = {**stored["values"], **stored.get("path_variables", {})}
            fetch_first = not secrets["access_token"]  # no token yet: not usable
    else:
        secrets = stored.get("values", {})
        values = {**stored.get("values", {}), **stored.get("path_variables", {})}
        if pattern.type == "TOKEN_EXCHANGE":
            secrets = {**values, "token": stored_token(stored)}
    base = _fill(provider.definition.proxy_url, values, allowlist).rstrip("/")
    try:
        header_name, header_value = credential_header(pattern, secrets)
    except ValueError as exc:
        if not pattern.auth_query_param:
            raise InternalError("stored credentials cannot be sent as a header") from exc
        header_name, header_value = "Authorization", ""  # unused: the query carries it
    headers: Headers | None = None
    defaults: Headers = ()
    pair = ""
    query_param = pattern.auth_query_param or ""
    if query_param or pattern.proxy_headers or provider.definition.proxy_headers:
        if query_param:
            (credential_name,) = CREDENTIAL_VALUES[pattern.type]
            pair = query_pair(query_param, template_values(pattern, secrets, {})[credential_name])
        credential = None if query_param else (header_name, header_value)
        headers, defaults = request_headers(
            provider.definition, pattern, credential, secrets, values
        )
    retry = provider.definition.retry
    scheme, host, port, base_path = (
        _checked_base(base, allowlist) if len(base) <= 512 else _check_base(base, allowlist)
    )
    sent = ((header_name, header_value),) if headers is None else headers
    expires = target.token_expires_at
    expires_at = as_utc(expires).timestamp() if expires else None
    if pattern.type == "TOKEN_EXCHANGE" and not secrets["token"]:
        expires_at = 0.0  # not exchanged yet: the proxy obtains a token first
    return Route(
        account_id=account_id,
        base_url=base,
        origin=(scheme, host, port),
        base_path=base_path,
        header_name=header_name,
        header_value=header_value,
        pattern=pattern,
        token_version=target.token_version or 0,
        expires_at=0.0 if fetch_first else expires_at,
        loaded_at=time.time(),
        headers=headers,
        defaults=defaults,
        query_param=query_param,
        query_pair=pair,
        retry=retry if retry is not None and retry.max_attempts > 1 else None,
        secrets=_secrets_sent(pattern, secrets, sent, pair),
    )
