"""The MCP endpoints' OAuth authorization server, one per environment (issuer
`{public_url}/mcp-oauth/{environment_id}`; docs/mcp-authorization.md): metadata (RFC 8414),
the authorization endpoint with the team's login hand-off or an OpenID Connect provider
(`mcp.oidc`), the token endpoint
(authorization_code, refresh_token; PKCE S256 and `resource` required) and revocation
(RFC 7009). Access tokens are the MCP session-token JWTs (`mcp.tokens`), so the MCP server
takes them unchanged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import aiohttp

from authrelay.auth.jwt_keys import KeySet
from authrelay.auth.principal import Principal
from authrelay.context import Invalidate, ServiceContext
from authrelay.errors import AuthrelayError, NotFound
from authrelay.mcp import grants, oauth_clients, oauth_settings, oidc, redirect_uris, tokens
from authrelay.mcp.configs import SERVERS_PATH, find
from authrelay.mcp.oauth_errors import AuthorizePageError, AuthorizeRedirectError, OAuthError
from authrelay.mcp.sessions import account_ids
from authrelay.oauth import flows
from authrelay.store import AsyncSession
from authrelay.store import mcp_oauth as store
from authrelay.store.models import McpOAuthRefreshToken, McpOAuthRequest
from authrelay.vault import KeyRing
from authrelay.vault.contexts import oidc_request_context
from authrelay_client import handoff

ISSUER_PATH = "/mcp-oauth/"
ACCESS_TOKEN_SECONDS = 900
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
REQUEST_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(seconds=60)
REFRESH_PREFIX = "mcprt_"
METADATA_SECONDS = 10.0
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


@dataclass(frozen=True)
class AuthServerParts:
    """What the authorization server uses of the running server."""

    keyring: KeyRing
    keys: KeySet
    http: aiohttp.ClientSession
    base_url: str
    docs: oidc.RemoteDocuments  # OIDC discovery and JWKS documents, cached


def issuer(base_url: str, env_id: str) -> str:
    return f"{base_url}{ISSUER_PATH}{env_id}"


def oidc_redirect_uri(base_url: str, env_id: str) -> str:
    """The redirect URI to register at the environment's OpenID Connect provider."""
    return f"{issuer(base_url, env_id)}/oidc/callback"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def metadata(base_url: str, env_id: str, sign_in: oauth_settings.SignIn) -> dict[str, Any]:
    """RFC 8414 authorization server metadata of an environment."""
    iss = issuer(base_url, env_id)
    data: dict[str, Any] = {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/authorize",
        "token_endpoint": f"{iss}/token",
        "revocation_endpoint": f"{iss}/revoke",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(tokens.SCOPES),
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "client_id_metadata_document_supported": sign_in.cimd_enabled,
        "authorization_response_iss_parameter_supported": True,
    }
    if sign_in.dcr_enabled:
        data["registration_endpoint"] = f"{iss}/register"
    return data


class MetadataCache:
    """Each environment's metadata document for METADATA_SECONDS in this process: hosts read
    it on every sign-in, and it changes only with `authrelay env login --dcr/--cimd` (the
    registration endpoint itself reads the switch, so a stale document never lets a closed
    registration through)."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, env_id: str) -> dict[str, Any] | None:
        entry = self._data.get(env_id)
        if entry is None or time.monotonic() - entry[0] >= METADATA_SECONDS:
            return None
        return entry[1]

    def put(self, env_id: str, document: dict[str, Any]) -> None:
        if len(self._data) >= self.max_entries:
            self._data.clear()  # rare (that many environments): start again
        self._data[env_id] = (time.monotonic(), document)


async def _check_resource(session: AsyncSession, base_url: str, env_id: str, resource: str) -> str:
    """The config id of an MCP URL of this environment, else the error's description."""
    prefix = base_url + SERVERS_PATH
    config_id = resource[len(prefix) :] if resource.startswith(prefix) else ""
    if not config_id or "/" in config_id or await find(session, env_id, config_id) is None:
        raise OAuthError(
            "invalid_target", "resource must be the URL of an MCP config of this environment"
        )
    return config_id


async def authorize(
    session: AsyncSession, parts: AuthServerParts, env_id: str, params: dict[str, str]
) -> str:
    """The authorization endpoint: check the request, store it, and return the URL of the
    team's hand-off with the signed request (RFC 6749 §4.1.1, OAuth 2.1 PKCE)."""
    sign_in = await oauth_settings.load(session, parts.keyring, env_id)
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    try:
        client = await oauth_clients.find(
            session, parts.http, env_id, client_id, sign_in.cimd_enabled
        )
    except OAuthError as exc:
        raise AuthorizePageError(f"{exc.error}: {exc.description}") from None
    if not redirect_uri and len(client.redirect_uris) == 1:
        redirect_uri = client.redirect_uris[0]
    if not redirect_uris.matches(redirect_uri, client.redirect_uris):
        raise AuthorizePageError("redirect_uri is not registered for this client")
    state = params.get("state", "")

    def refuse(error: str, description: str) -> AuthorizeRedirectError:
        return AuthorizeRedirectError(redirect_uri, state, error, description)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "PKCE is required: code_challenge_method must be S256")
    challenge = params.get("code_challenge", "")
    if not _CHALLENGE.match(challenge):
        raise refuse("invalid_request", "code_challenge must be a base64url SHA-256 digest")
    try:
        scope = tokens.parse_scope(params.get("scope", ""))
    except ValueError as exc:
        raise refuse("invalid_scope", str(exc)) from None
    resource = params.get("resource", "")
    if not resource:
        raise refuse("invalid_target", "resource (RFC 8707) is required: the MCP server URL")
    try:
        await _check_resource(session, parts.base_url, env_id, resource)
    except OAuthError as exc:
        raise refuse(exc.error, exc.description) from None
    if not sign_in.method:
        raise refuse(
            "temporarily_unavailable",
            "no sign-in is configured for this environment (authrelay env login)",
        )
    provider = None
    if sign_in.method == "oidc":
        try:
            provider = await oidc.discover(parts.docs, sign_in.oidc_issuer)
        except oidc.OidcError as exc:
            raise refuse("temporarily_unavailable", f"the sign-in provider: {exc}") from None
    row = McpOAuthRequest(
        id=secrets.token_urlsafe(24),
        environment_id=env_id,
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=challenge,
        resource=resource,
        scope=scope,
        status="handoff",
        expires_at=datetime.now(UTC) + REQUEST_LIFETIME,
    )
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    if provider is not None:
        secret = json.dumps({"verifier": verifier, "nonce": nonce})
        row.oidc_ct = parts.keyring.encrypt(secret, oidc_request_context(row.id))
    session.add(row)
    await store.delete_expired(session, datetime.now(UTC))  # each new sign-in sweeps old ones
    await session.commit()
    if provider is not None:
        return oidc.authorization_url(
            provider,
            sign_in.oidc_client_id,
            oidc_redirect_uri(parts.base_url, env_id),
            row.id,  # the state: names this pending authorization, single use
            nonce,
            verifier,
        )
    message = handoff.build_request(
        sign_in.handoff_secret, row.id, env_id, f"{issuer(parts.base_url, env_id)}/handoff"
    )
    glue = "&" if "?" in sign_in.handoff_url else "?"
    return f"{sign_in.handoff_url}{glue}{urlencode({'authrelay_request': message})}"


def redirect_with(redirect_uri: str, values: dict[str, str]) -> str:
    """The client's redirect URI with `values` added to its query."""
    glue = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{glue}{urlencode({k: v for k, v in values.items() if v})}"


@dataclass(frozen=True)
class Next:
    """Where the browser goes next, and the consent cookie to set (name, value) if any."""

    url: str
    cookie: tuple[str, str] | None = None


CONSENT_COOKIE = "authrelay_mcp_consent"


def consent_url(base_url: str, env_id: str, request_id: str) -> str:
    return f"{issuer(base_url, env_id)}/consent/{request_id}"


async def _issue_code(
    session: AsyncSession,
    parts: AuthServerParts,
    env_id: str,
    request: McpOAuthRequest,
    before: str,
    grant_id: str,
    identifier: str | None = None,
) -> str:
    """Move the request to `code` with a new code bound to `grant_id`; the client's
    redirect URL."""
    code = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    moved = await store.advance_request(
        session,
        request.id,
        before=before,
        after="code",
        now=now,
        identifier=identifier,
        code_hash=_hash(code),
        expires_at=now + CODE_LIFETIME,
        grant_id=grant_id,
    )
    if not moved:
        await session.rollback()
        raise AuthorizePageError("this sign-in was already used or has expired; start again")
    await session.commit()
    return redirect_with(
        request.redirect_uri,
        {"code": code, "state": request.state, "iss": issuer(parts.base_url, env_id)},
    )


async def _view(
    session: AsyncSession, parts: AuthServerParts, env_id: str, request: McpOAuthRequest
) -> grants.ConsentView:
    """What the consent page shows; the config deleted meanwhile ends the authorization."""
    try:
        config_id = await _check_resource(session, parts.base_url, env_id, request.resource)
        config = await grants.config_of(session, env_id, config_id)
    except OAuthError as exc:
        raise AuthorizePageError(exc.description) from None
    except NotFound as exc:
        raise AuthorizePageError(exc.message) from None
    return await grants.consent_view(
        session,
        env_id,
        request.client_id,
        request.redirect_uri,
        request.identifier or "",
        config,
        request.scope,
    )


async def handoff_return(
    session: AsyncSession, parts: AuthServerParts, env_id: str, assertion: str
) -> Next:
    """The team's app sent the user back: verify its assertion (HMAC, or a JWT of the app's
    JWKS) and bind it to the pending
    authorization (once). An unchanged grant of this client, user and config with every
    connection connected issues the code at once; else the consent page, with a cookie
    holding the form's token (docs/mcp-authorization.md, "Consent and grants")."""
    sign_in = await oauth_settings.load(session, parts.keyring, env_id)
    if sign_in.method != "handoff":
        raise AuthorizePageError("no sign-in hand-off is configured for this environment")
    try:
        if handoff.is_jwt(assertion) and sign_in.handoff_jwks_url:
            claims = await _jwt_assertion(parts, env_id, sign_in.handoff_jwks_url, assertion)
        else:
            claims = handoff.verify_assertion(sign_in.handoff_secret, assertion)
    except handoff.HandoffError as exc:
        raise AuthorizePageError(f"the sign-in could not be verified: {exc}") from None
    request = await store.request(session, claims["rid"])
    if request is None or request.environment_id != env_id or request.oidc_ct:
        raise AuthorizePageError("the sign-in is for no authorization in progress")
    return await signed_in(session, parts, env_id, request, str(claims["sub"])[:255])


async def _jwt_assertion(
    parts: AuthServerParts, env_id: str, jwks_url: str, assertion: str
) -> dict[str, Any]:
    """A JWT assertion's claims, checked with the app's key (by `kid`) from its JWKS; the
    audience is this environment's hand-off return URL."""
    try:
        key = await oidc.signing_key(parts.docs, jwks_url, assertion)
    except oidc.OidcError as exc:
        raise handoff.HandoffError(str(exc)) from None
    return handoff.verify_jwt_assertion(key, assertion, f"{issuer(parts.base_url, env_id)}/handoff")


async def oidc_return(
    session: AsyncSession, parts: AuthServerParts, env_id: str, params: dict[str, str]
) -> Next:
    """The OpenID Connect provider sent the user back (`?code&state`, or `?error`): exchange
    the code, verify the ID token, take the identifier from the configured claim, then as
    after a hand-off (`signed_in`)."""
    sign_in = await oauth_settings.load(session, parts.keyring, env_id)
    if sign_in.method != "oidc":
        raise AuthorizePageError("no OpenID Connect sign-in is configured for this environment")
    request = await store.request(session, params.get("state", ""))
    if request is None or request.environment_id != env_id or not request.oidc_ct:
        raise AuthorizePageError("the sign-in is for no authorization in progress")
    if request.status != "handoff":
        raise AuthorizePageError("this sign-in was already used or has expired; start again")
    if params.get("error"):  # the user cancelled at the provider, or it refused
        await store.advance_request(
            session, request.id, before="handoff", after="used", now=datetime.now(UTC)
        )
        await session.commit()
        values = {"error": "access_denied", "state": request.state}
        values["error_description"] = f"the sign-in provider answered {params['error']}"[:200]
        values["iss"] = issuer(parts.base_url, env_id)
        return Next(redirect_with(request.redirect_uri, values))
    secret = json.loads(parts.keyring.decrypt(request.oidc_ct, oidc_request_context(request.id)))
    try:
        provider = await oidc.discover(parts.docs, sign_in.oidc_issuer)
        id_token, access_token = await oidc.exchange_code(
            parts.http,
            provider,
            client_id=sign_in.oidc_client_id,
            client_secret=sign_in.oidc_client_secret,
            code=params.get("code", ""),
            verifier=secret["verifier"],
            redirect_uri=oidc_redirect_uri(parts.base_url, env_id),
        )
        claims = await oidc.verify_id_token(
            parts.docs, provider, id_token, sign_in.oidc_client_id, secret["nonce"]
        )
        if sign_in.identifier_claim not in claims:
            more = await oidc.user_info(parts.http, provider, access_token, claims["sub"])
            claims = {**more, **claims}  # the signed ID token's claims win
        identifier = oidc.identifier(claims, sign_in.identifier_claim)
    except oidc.OidcError as exc:
        raise AuthorizePageError(f"the sign-in could not be verified: {exc}") from None
    return await signed_in(session, parts, env_id, request, identifier[:255])


async def signed_in(
    session: AsyncSession,
    parts: AuthServerParts,
    env_id: str,
    request: McpOAuthRequest,
    identifier: str,
) -> Next:
    """The step after any sign-in (the hand-off, or another identity source): bind the
    identifier to the pending authorization (once), then the code at once for an unchanged
    grant, else the consent page with its cookie."""
    request.identifier = identifier  # for the view only; stored by advance_request
    view = await _view(session, parts, env_id, request)
    known = await grants.unchanged_grant(session, env_id, view)
    if known is not None:
        await grants.touch(session, known.id)
        url = await _issue_code(session, parts, env_id, request, "handoff", known.id, identifier)
        return Next(url)
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    moved = await store.advance_request(
        session,
        request.id,
        before="handoff",
        after="consent",
        now=now,
        identifier=identifier,
        csrf_hash=_hash(csrf),
        expires_at=now + REQUEST_LIFETIME,
    )
    if not moved:
        await session.rollback()
        raise AuthorizePageError("this sign-in was already used or has expired; start again")
    await session.commit()
    return Next(consent_url(parts.base_url, env_id, request.id), (CONSENT_COOKIE, csrf))


async def consent_request(
    session: AsyncSession, env_id: str, request_id: str, cookie: str, form_token: str | None
) -> McpOAuthRequest:
    """The authorization waiting for consent, for the browser that signed in: its cookie
    holds the token whose hash the request keeps; a form must carry the same token (CSRF)."""
    request = await store.request(session, request_id)
    now = datetime.now(UTC)
    if request is None or request.environment_id != env_id or request.status != "consent":
        raise AuthorizePageError("no authorization is waiting for consent here; start again")
    expires = request.expires_at
    if (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        raise AuthorizePageError("this authorization has expired; start again")
    if (
        not cookie
        or not request.csrf_hash
        or not hmac.compare_digest(_hash(cookie), request.csrf_hash)
    ):
        raise AuthorizePageError(
            "open this page in the browser that signed in (its consent cookie is missing)",
            HTTPStatus.FORBIDDEN,
        )
    if form_token is not None and not hmac.compare_digest(form_token, cookie):
        raise AuthorizePageError(
            "the form's token does not match this authorization", HTTPStatus.FORBIDDEN
        )
    return request


async def consent_page(
    session: AsyncSession, parts: AuthServerParts, env_id: str, request_id: str, cookie: str
) -> tuple[McpOAuthRequest, grants.ConsentView]:
    """The authorization waiting for this browser's consent, and what the page shows."""
    request = await consent_request(session, env_id, request_id, cookie, None)
    return request, await _view(session, parts, env_id, request)


async def decide(
    session: AsyncSession,
    parts: AuthServerParts,
    invalidate: Invalidate,
    env_id: str,
    request_id: str,
    cookie: str,
    form: dict[str, str],
) -> str:
    """Allow (a grant, then the code) or Deny (`access_denied`, RFC 6749 §4.1.2.1); the
    client's redirect URL."""
    request = await consent_request(session, env_id, request_id, cookie, form.get("csrf_token", ""))
    decision = form.get("decision", "")
    if decision == "deny":
        moved = await store.advance_request(
            session, request.id, before="consent", after="denied", now=datetime.now(UTC)
        )
        if not moved:
            await session.rollback()
            raise AuthorizePageError("this authorization was already decided; start again")
        await session.commit()
        values = {
            "error": "access_denied",
            "error_description": "the user denied the request",
            "state": request.state,
            "iss": issuer(parts.base_url, env_id),
        }
        return redirect_with(request.redirect_uri, values)
    if decision != "allow":
        raise AuthorizePageError("choose Allow or Deny")
    view = await _view(session, parts, env_id, request)
    grant = await grants.allow(session, invalidate, env_id, view)
    await grants.touch(session, grant.id)
    return await _issue_code(session, parts, env_id, request, "consent", grant.id)


async def connect_link(
    session: AsyncSession,
    parts: AuthServerParts,
    ctx: ServiceContext,
    env_id: str,
    request_id: str,
    cookie: str,
    form: dict[str, str],
    link_ttl: int,
) -> str:
    """The hosted connect flow for one of the config's connections, as the signed-in user,
    returning to the consent page when it is done."""
    request = await consent_request(session, env_id, request_id, cookie, form.get("csrf_token", ""))
    view = await _view(session, parts, env_id, request)
    name = form.get("connection", "")
    if name not in {c.name for c in view.connections if c.enabled}:
        raise AuthorizePageError("this connection is not one of the MCP config's")
    principal = Principal(env_id, f"mcp-user:{view.identifier}")
    try:
        body = await flows.create_magic_link(
            session,
            principal,
            ctx,
            {"connector": name, "identifier": view.identifier},
            link_ttl,
            return_url=consent_url(parts.base_url, env_id, request.id),
        )
    except AuthrelayError as exc:  # e.g. the connection was disabled meanwhile
        await session.rollback()
        raise AuthorizePageError(f"{name} cannot be connected now: {exc.message}") from None
    return str(body["link"])


def _pkce_ok(verifier: str, challenge: str) -> bool:
    if not _VERIFIER.match(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


async def _tokens(
    session: AsyncSession,
    parts: AuthServerParts,
    env_id: str,
    *,
    client_id: str,
    identifier: str,
    resource: str,
    scope: str,
    family: str,
    grant_id: str,
    access_scope: str | None = None,
) -> dict[str, Any]:
    """A new access token for `resource` and the next refresh token of `family`, both of
    `grant_id` (the user's consent; '' for an authorization from before consent existed).
    The refresh token keeps `scope`; the access token has `access_scope` (a narrower one
    asked for at refresh, RFC 6749 §6), else `scope`: READ_ONLY without `mcp:write`."""
    access_scope = scope if access_scope is None else access_scope
    client = await store.client(session, env_id, client_id)
    if client is None or client.disabled:
        raise OAuthError("invalid_client", "this client is disabled or was deleted", 401)
    config_id = await _check_resource(session, parts.base_url, env_id, resource)
    config = await find(session, env_id, config_id)
    names = [m["connection_name"] for m in config.mappings] if config else []
    access, _ = tokens.issue(
        parts.keys,
        environment_id=env_id,
        identifier=identifier,
        audience=resource,
        config_id=config_id,
        connection="",
        account_ids=await account_ids(session, env_id, identifier, names),
        seconds=ACCESS_TOKEN_SECONDS,
        access_level=tokens.scope_access_level(access_scope),
        grant_id=grant_id,
    )
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        McpOAuthRefreshToken(
            token_hash=_hash(refresh),
            family_id=family,
            environment_id=env_id,
            client_id=client_id,
            identifier=identifier,
            resource=resource,
            scope=scope,
            revoked=False,
            created_at=now,
            expires_at=now + REFRESH_TOKEN_LIFETIME,
            grant_id=grant_id or None,
        )
    )
    if grant_id:
        await grants.touch(session, grant_id)
    await session.commit()
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh,
        "scope": " ".join(s for s in tokens.SCOPES if s in tokens.granted_scopes(access_scope)),
    }


def _required(form: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not form.get(n)]
    if missing:
        raise OAuthError("invalid_request", f"missing {', '.join(missing)}")
    return [form[n] for n in names]


async def token(
    session: AsyncSession, parts: AuthServerParts, env_id: str, form: dict[str, str]
) -> dict[str, Any]:
    """The token endpoint (RFC 6749 §4.1.3, §6; errors per §5.2)."""
    grant = form.get("grant_type", "")
    if grant == "authorization_code":
        return await _code_grant(session, parts, env_id, form)
    if grant == "refresh_token":
        return await _refresh_grant(session, parts, env_id, form)
    if not grant:
        raise OAuthError("invalid_request", "missing grant_type")
    raise OAuthError("unsupported_grant_type", "grant_type: authorization_code or refresh_token")


async def _code_grant(
    session: AsyncSession, parts: AuthServerParts, env_id: str, form: dict[str, str]
) -> dict[str, Any]:
    code, client_id, verifier, resource = _required(
        form, "code", "client_id", "code_verifier", "resource"
    )
    request = await store.request_by_code(session, _hash(code))
    if request is None or request.environment_id != env_id or request.client_id != client_id:
        raise OAuthError("invalid_grant", "the code is not valid for this client")
    if request.status == "used":
        # a replayed code: revoke what it was exchanged for (RFC 6749 §4.1.2)
        await store.revoke_family(session, request.id)
        await session.commit()
        raise OAuthError("invalid_grant", "the code was already used")
    if form.get("redirect_uri", request.redirect_uri) != request.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if resource != request.resource:
        raise OAuthError("invalid_target", "resource differs from the authorization request")
    if not _pkce_ok(verifier, request.code_challenge):
        raise OAuthError("invalid_grant", "the PKCE code_verifier does not match")
    moved = await store.advance_request(
        session, request.id, before="code", after="used", now=datetime.now(UTC)
    )
    if not moved:
        await session.rollback()
        raise OAuthError("invalid_grant", "the code was already used or has expired")
    return await _tokens(
        session,
        parts,
        env_id,
        client_id=client_id,
        identifier=request.identifier or "",
        resource=request.resource,
        scope=request.scope,
        family=request.id,
        grant_id=request.grant_id or "",
    )


async def _refresh_grant(
    session: AsyncSession, parts: AuthServerParts, env_id: str, form: dict[str, str]
) -> dict[str, Any]:
    refresh, client_id, resource = _required(form, "refresh_token", "client_id", "resource")
    row = await store.refresh_token(session, _hash(refresh))
    now = datetime.now(UTC)
    if row is None or row.environment_id != env_id or row.client_id != client_id:
        raise OAuthError("invalid_grant", "the refresh token is not valid for this client")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if row.revoked or expires <= now:
        raise OAuthError("invalid_grant", "the refresh token was revoked or has expired")
    if resource != row.resource:
        raise OAuthError("invalid_target", "resource differs from the one granted")
    if row.grant_id and not await grants.live(session, env_id, row.grant_id):
        raise OAuthError("invalid_grant", "the grant was revoked")
    access_scope = _refresh_scope(form.get("scope", ""), row.scope)
    if not await store.use_refresh_token(session, row.token_hash, now):
        # reuse of a used refresh token: someone else holds a copy; end the whole grant
        await store.revoke_family(session, row.family_id)
        await session.commit()
        raise OAuthError("invalid_grant", "the refresh token was already used; grant revoked")
    return await _tokens(
        session,
        parts,
        env_id,
        client_id=client_id,
        identifier=row.identifier,
        resource=row.resource,
        scope=row.scope,
        family=row.family_id,
        grant_id=row.grant_id or "",
        access_scope=access_scope,
    )


def _refresh_scope(asked: str, granted: str) -> str:
    """The access token's scope at a refresh: the one granted, or a narrower one asked for;
    a wider or unknown one is `invalid_scope` (RFC 6749 §6)."""
    if not asked:
        return granted
    try:
        scope = tokens.parse_scope(asked)
    except ValueError as exc:
        raise OAuthError("invalid_scope", str(exc)) from None
    wider = sorted(set(scope.split()) - tokens.granted_scopes(granted))
    if wider:
        raise OAuthError(
            "invalid_scope", f"scope {', '.join(wider)} was not granted: sign in again for it"
        )
    return scope


async def revoke(session: AsyncSession, env_id: str, form: dict[str, str]) -> None:
    """RFC 7009: revoke a refresh token's whole grant. Unknown tokens (and access tokens,
    which are short-lived JWTs) are answered with success too (§2.2)."""
    (value,) = _required(form, "token")
    row = await store.refresh_token(session, _hash(value))
    if row is None or row.environment_id != env_id:
        return
    if form.get("client_id") and form["client_id"] != row.client_id:
        raise OAuthError("invalid_client", "the token was issued to another client", 401)
    await store.revoke_family(session, row.family_id)
    await session.commit()
