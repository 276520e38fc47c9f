"""Resolving (environment, connection name, identifier) to everything a proxied call needs,
cached per process and dropped whenever the cache generation moves (see `ProxyCache`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from yarl import URL

from authrelay.accounts.credentials import oauth_placeholder_values
from authrelay.accounts.service import secret_context
from authrelay.config import UpstreamAllowlist
from authrelay.errors import (
    AuthrelayError,
    FailedPrecondition,
    InternalError,
    NotFound,
    PermissionDenied,
)
from authrelay.providers.catalog import Catalog
from authrelay.providers.model import AuthPattern
from authrelay.providers.service import resolve_provider
from authrelay.providers.urls import fill_placeholders
from authrelay.proxy.guard import BlockedAddress, check_host
from authrelay.proxy.inject import credential_header
from authrelay.store import accounts as account_store
from authrelay.store import connections as connection_store
from authrelay.store.db import as_utc
from authrelay.vault import KeyRing


class PlaceholderRejected(AuthrelayError):
    """A stored value cannot fill a proxy_url placeholder (SPEC §3 value checks)."""

    code = 3
    http_status = 400


@dataclass(frozen=True)
class Route:
    account_id: str
    base_url: str  # proxy_url with placeholders filled, no trailing slash
    origin: tuple[str, str, int]  # scheme, host, port of base_url
    base_path: str
    header_name: str
    header_value: str = field(repr=False)  # the credential: never in a repr
    pattern: AuthPattern
    token_version: int = 0
    expires_at: float | None = None  # OAuth access tokens only
    loaded_at: float = 0.0
    # Derived once here rather than on every proxied call.
    oauth: bool = field(init=False)
    header_key: bytes = field(init=False)  # header_name as it appears in an ASGI scope

    def __post_init__(self) -> None:
        object.__setattr__(self, "oauth", self.pattern.type == "OAUTH")
        object.__setattr__(self, "header_key", self.header_name.lower().encode("latin-1"))

    def usable(self, margin: float) -> bool:
        """False when an OAuth token should be refreshed first: it expires within `margin`
        seconds, or within half of the life it had left when loaded, whichever is less."""
        if self.expires_at is None:
            return True
        left_at_load = max(self.expires_at - self.loaded_at, 0.0)
        return time.time() < self.expires_at - min(margin, left_at_load / 2)


def _fill(template: str, values: dict[str, str]) -> str:
    try:
        return fill_placeholders(template, values)
    except ValueError as exc:
        raise PlaceholderRejected(f"{exc}; update the connected account") from None


async def load_route(
    session: AsyncSession,
    keyring: KeyRing,
    catalog: Catalog,
    allowlist: UpstreamAllowlist,
    env_id: str,
    connection_name: str,
    identifier: str,
) -> Route:
    connection = await connection_store.by_name(session, env_id, connection_name)
    if connection is None:
        raise NotFound(f"no connection named {connection_name!r} in this environment")
    if not connection.enabled:
        raise FailedPrecondition(f"connection {connection_name!r} is disabled; enable it first")
    provider = await resolve_provider(session, env_id, catalog, connection.provider_identifier)
    pattern = provider.pattern(connection.type) if provider else None
    if provider is None or pattern is None:
        raise FailedPrecondition(
            f"connection {connection_name!r} refers to provider "
            f"{connection.provider_identifier!r}, which no longer has a {connection.type} pattern"
        )
    if not provider.definition.proxy_enabled:
        raise FailedPrecondition(
            f"provider {provider.identifier!r} has proxy_enabled: false; the tool proxy is off "
            "for it"
        )
    account = await account_store.get(
        session, env_id, account_id=None, connection_id=connection.id, identifier=identifier
    )
    if account is None:
        raise NotFound(
            f"no connected account for {identifier!r} on connection {connection_name!r}; "
            "create one or send the user an authorization link"
        )
    if account.status != "ACTIVE" or not account.secret_ct:
        raise not_active(identifier, account.status)
    stored = json.loads(keyring.decrypt(account.secret_ct, secret_context(account.id)))
    if pattern.type == "OAUTH":
        secrets = {"access_token": stored.get("access_token", "")}
        values = oauth_placeholder_values(account.api_config or {})
    else:
        secrets = stored.get("values", {})
        values = {**stored.get("values", {}), **stored.get("path_variables", {})}
    base = _fill(provider.definition.proxy_url, values).rstrip("/")
    try:
        header_name, header_value = credential_header(pattern, secrets)
    except ValueError as exc:
        raise InternalError("stored credentials cannot be sent as a header") from exc
    url = URL(base, encoded=True)
    if url.scheme not in {"http", "https"} or not url.host:
        raise PlaceholderRejected("the provider's proxy_url does not make a valid URL")
    try:
        check_host(url.host, allowlist)
    except BlockedAddress as exc:
        raise PermissionDenied(f"upstream target refused: {exc}") from None
    return Route(
        account_id=account.id,
        base_url=base,
        origin=(url.scheme, url.host, url.port or 0),
        base_path=url.raw_path.rstrip("/"),
        header_name=header_name,
        header_value=header_value,
        pattern=pattern,
        token_version=account.token_version or 0,
        expires_at=as_utc(account.token_expires_at).timestamp()
        if account.token_expires_at
        else None,
        loaded_at=time.time(),
    )


def not_active(identifier: str, status: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"the connected account for {identifier!r} is {status}; the user must (re-)authorize "
        "it: create a new authorization link (POST /api/v1/connected_accounts/magic_link) "
        "and send it to them"
    )
