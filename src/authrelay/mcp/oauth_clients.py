"""OAuth clients of the MCP authorization server: dynamic registration (RFC 7591), client ID
metadata documents (the client_id is an https URL whose JSON authrelay fetches through the
network guard, with size, time and cache limits, no redirects), and the registered clients
as the API and CLI show them."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, TypedDict
from urllib.parse import urlsplit

import aiohttp

from authrelay.auth.principal import Principal
from authrelay.changes import Change, record
from authrelay.context import Invalidate
from authrelay.errors import InvalidArgument, NotFound
from authrelay.mcp import grants, redirect_uris
from authrelay.mcp.oauth_errors import OAuthError
from authrelay.netguard import blocked_cause
from authrelay.store import AsyncSession
from authrelay.store import mcp_oauth as store
from authrelay.store.models import McpOAuthClient

DOCUMENT_MAX_BYTES = 5 * 1024
DOCUMENT_TIMEOUT = 3.0
DOCUMENT_CACHE = timedelta(minutes=5)
_GRANTS = {"authorization_code", "refresh_token"}


class ClientJson(TypedDict):
    """A registered client as the API and CLI list it."""

    client_id: str
    kind: str
    client_name: str
    redirect_uris: list[str]
    disabled: bool
    created_at: str


@dataclass(frozen=True)
class KnownClient:
    """What the authorization endpoint needs of a client."""

    client_id: str
    name: str
    redirect_uris: list[str]
    logo_uri: str = ""


def is_document_url(client_id: str) -> bool:
    """A client ID metadata document's URL: https with a path (not the root)."""
    parts = urlsplit(client_id)
    return parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")


def client_json(row: McpOAuthClient) -> ClientJson:
    return {
        "client_id": row.client_id,
        "kind": row.kind,
        "client_name": row.name,
        "redirect_uris": list(row.redirect_uris),
        "disabled": row.disabled,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
    }


def _metadata(raw: Any) -> tuple[str, list[str]]:
    """(client name, redirect URIs) of client metadata, or `invalid_*` errors (RFC 7591)."""
    if not isinstance(raw, dict):
        raise OAuthError("invalid_client_metadata", "the client metadata must be a JSON object")
    uris = raw.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > 20:
        raise OAuthError("invalid_redirect_uri", "redirect_uris: 1 to 20 URIs are required")
    for uri in uris:
        if not isinstance(uri, str) or not redirect_uris.acceptable(uri):
            raise OAuthError(
                "invalid_redirect_uri",
                f"redirect URI {uri!r} must be https, http on a loopback host, or a native "
                "app's own scheme (app://…), without a fragment",
            )
    grants = raw.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or not set(grants) <= _GRANTS:
        raise OAuthError(
            "invalid_client_metadata", "grant_types: only authorization_code and refresh_token"
        )
    responses = raw.get("response_types", ["code"])
    if responses != ["code"]:
        raise OAuthError("invalid_client_metadata", 'response_types: only ["code"]')
    name = raw.get("client_name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise OAuthError("invalid_client_metadata", "client_name: a string of 200 or fewer")
    return name, list(uris)


def logo_of(raw: dict[str, Any]) -> str:
    """The metadata's `logo_uri` when it is an https URL (the consent page shows it), else
    ''."""
    logo = raw.get("logo_uri")
    if isinstance(logo, str) and len(logo) <= 2048 and urlsplit(logo).scheme == "https":
        return logo
    return ""


async def register(session: AsyncSession, env_id: str, raw: Any) -> dict[str, Any]:
    """RFC 7591 registration of a public client (PKCE is its proof; a request for a secret
    method gets `none`, RFC 7591 §3.2.1)."""
    name, uris = _metadata(raw)
    now = datetime.now(UTC)
    row = McpOAuthClient(
        environment_id=env_id,
        client_id="mcpc_" + secrets.token_urlsafe(18),
        kind="dcr",
        name=name,
        redirect_uris=uris,
        disabled=False,
        created_at=now,
        logo_uri=logo_of(raw) or None,
    )
    session.add(row)
    change = Change("mcp_client.register", row.client_id, None, _public(row))
    await record(session, Principal(env_id, "mcp-oauth:registration"), change)
    await session.commit()
    return {
        "client_id": row.client_id,
        "client_id_issued_at": int(now.timestamp()),
        "client_name": name,
        "redirect_uris": uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


async def fetch_document(http: aiohttp.ClientSession, url: str) -> Any:
    """A client ID metadata document's JSON: one GET through the guarded client, no
    redirects, at most DOCUMENT_MAX_BYTES, DOCUMENT_TIMEOUT seconds in all."""
    try:
        async with asyncio.timeout(DOCUMENT_TIMEOUT):
            async with http.get(
                url, allow_redirects=False, headers={"Accept": "application/json"}
            ) as response:
                if response.status != HTTPStatus.OK:
                    raise OAuthError(
                        "invalid_client",
                        f"the client ID metadata document answered {response.status}",
                    )
                body = await response.content.read(DOCUMENT_MAX_BYTES + 1)
    except TimeoutError:
        raise OAuthError("invalid_client", "the client ID metadata document timed out") from None
    except aiohttp.ClientError as exc:
        reason = "is not allowed" if blocked_cause(exc) else "cannot be reached"
        raise OAuthError(
            "invalid_client", f"the client ID metadata document's address {reason}"
        ) from None
    if len(body) > DOCUMENT_MAX_BYTES:
        raise OAuthError(
            "invalid_client",
            f"the client ID metadata document is larger than {DOCUMENT_MAX_BYTES} bytes",
        )
    try:
        return json.loads(body)
    except ValueError:
        raise OAuthError("invalid_client", "the client ID metadata document is not JSON") from None


async def _document_client(
    session: AsyncSession, http: aiohttp.ClientSession, env_id: str, url: str
) -> McpOAuthClient:
    row = await store.client(session, env_id, url)
    now = datetime.now(UTC)
    fetched = row.fetched_at if row is not None else None
    if fetched is not None and fetched.tzinfo is None:
        fetched = fetched.replace(tzinfo=UTC)
    if row is not None and fetched is not None and now - fetched < DOCUMENT_CACHE:
        return row
    raw = await fetch_document(http, url)
    if not isinstance(raw, dict) or raw.get("client_id") != url:
        raise OAuthError(
            "invalid_client", "the client ID metadata document's client_id is not its URL"
        )
    try:
        name, uris = _metadata(raw)
    except OAuthError as exc:
        raise OAuthError(
            "invalid_client", f"client ID metadata document: {exc.description}"
        ) from None
    if row is None:
        row = McpOAuthClient(
            environment_id=env_id, client_id=url, kind="cimd", disabled=False, created_at=now
        )
        session.add(row)
    row.name, row.redirect_uris, row.fetched_at = name, uris, now
    row.logo_uri = logo_of(raw) or None
    await session.commit()
    return row


async def find(
    session: AsyncSession,
    http: aiohttp.ClientSession,
    env_id: str,
    client_id: str,
    documents_enabled: bool,
) -> KnownClient:
    """The client named by `client_id` (registered, or its metadata document fetched), or
    OAuthError `invalid_client`."""
    if is_document_url(client_id):
        if not documents_enabled:
            raise OAuthError(
                "invalid_client", "client ID metadata documents are off in this environment"
            )
        row = await _document_client(session, http, env_id, client_id)
    else:
        found = await store.client(session, env_id, client_id) if len(client_id) <= 512 else None
        if found is None:
            raise OAuthError("invalid_client", "unknown client_id")
        row = found
    if row.disabled:
        raise OAuthError("invalid_client", "this client is disabled")
    return KnownClient(row.client_id, row.name, list(row.redirect_uris), row.logo_uri or "")


async def list_clients(session: AsyncSession, env_id: str) -> list[ClientJson]:
    """The environment's registered clients (dynamic, metadata documents, pre-registered)."""
    return [client_json(row) for row in await store.clients(session, env_id)]


async def preregister(session: AsyncSession, principal: Principal, raw: Any) -> ClientJson:
    """A client created by the team (`POST /api/v1/mcp/oauth/clients`), public like the
    others; it works whether or not dynamic registration is open."""
    try:
        name, uris = _metadata(raw)
    except OAuthError as exc:
        raise InvalidArgument.field("redirect_uris", exc.description) from None
    row = McpOAuthClient(
        environment_id=principal.environment_id,
        client_id="mcpc_" + secrets.token_urlsafe(18),
        kind="preregistered",
        name=name,
        redirect_uris=uris,
        disabled=False,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    await record(session, principal, Change("mcp_client.create", row.client_id, None, _public(row)))
    await session.commit()
    return client_json(row)


def _public(row: McpOAuthClient) -> dict[str, Any]:
    return {k: v for k, v in client_json(row).items() if k != "created_at"}


async def set_disabled(
    session: AsyncSession,
    principal: Principal,
    client_id: str,
    disabled: bool,
    invalidate: Invalidate,
) -> ClientJson:
    """Disable a client (its authorizations and refreshes are refused, its grants end) or
    enable it again. Audited (`mcp_client.disable` / `mcp_client.enable`)."""
    env_id = principal.environment_id
    row = await store.client(session, env_id, client_id)
    if row is None:
        raise NotFound(f"no MCP OAuth client {client_id!r} in this environment")
    before = _public(row)
    row.disabled = disabled
    ended: list[Change] = []
    if disabled:
        for family in await store.client_families(session, env_id, client_id):
            await store.revoke_family(session, family)
        ended = await grants.end_client_grants(session, env_id, client_id)
    verb = "disable" if disabled else "enable"
    change = Change(f"mcp_client.{verb}", client_id, before, _public(row))
    await grants.commit(session, principal, invalidate, change, *ended)
    return client_json(row)


async def delete_client(
    session: AsyncSession, principal: Principal, client_id: str, invalidate: Invalidate
) -> None:
    """Delete a client and the refresh tokens it holds; its grants end. Audited."""
    env_id = principal.environment_id
    row = await store.client(session, env_id, client_id)
    if row is None:
        raise NotFound(f"no MCP OAuth client {client_id!r} in this environment")
    before = _public(row)
    ended = await grants.end_client_grants(session, env_id, client_id)
    await store.delete_client(session, env_id, client_id)
    change = Change("mcp_client.delete", client_id, before, None)
    await grants.commit(session, principal, invalidate, change, *ended)
