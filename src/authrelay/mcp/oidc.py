"""Signing MCP users in with an OpenID Connect provider (docs/mcp-authorization.md), and the
keys that verify what others sign: the provider's discovery document and JWKS, and the team
app's JWKS for JWT hand-off assertions. Every document is fetched through the server's
guarded HTTP client (`netguard`: private addresses refused unless allowed), with a size and
time limit, and cached per process (`RemoteDocuments`); a JWKS is fetched again once when a
token names a key it does not hold (the signer rotated its keys)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import jwt

from authrelay.netguard import blocked_cause
from authrelay_client.handoff import JWT_ALGORITHMS

DOCUMENT_TIMEOUT = 5.0
DOCUMENT_MAX_BYTES = 256 * 1024
CACHE_SECONDS = 600.0
REFETCH_SECONDS = 30.0  # at most one JWKS refetch per URL this often (unknown `kid`)
CACHE_ENTRIES = 256
LEEWAY = 60  # seconds of clock skew allowed on an ID token's exp/iat
SCOPE = "openid email profile"


class OidcError(Exception):
    """A provider or key document that cannot be used, or a token that does not verify."""


class RemoteDocuments:
    """JSON documents fetched through the guarded client, cached for CACHE_SECONDS (at most
    CACHE_ENTRIES, least recently used first out)."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, url: str, *, newer_than: float | None = None) -> Any:
        """The document at `url`; fetched again if the cached copy is older than
        `newer_than` seconds (or CACHE_SECONDS)."""
        max_age = CACHE_SECONDS if newer_than is None else newer_than
        cached = self._data.get(url)
        if cached is not None and time.monotonic() - cached[0] < max_age:
            self._data.move_to_end(url)
            return cached[1]
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:  # one fetch per URL at a time
            cached = self._data.get(url)
            if cached is not None and time.monotonic() - cached[0] < max_age:
                return cached[1]
            document = await fetch_json(self.http, url)
            self._data[url] = (time.monotonic(), document)
            self._data.move_to_end(url)
            while len(self._data) > CACHE_ENTRIES:
                old, _ = self._data.popitem(last=False)
                self._locks.pop(old, None)
            return document

    def age(self, url: str) -> float | None:
        cached = self._data.get(url)
        return None if cached is None else time.monotonic() - cached[0]


async def fetch_json(http: aiohttp.ClientSession, url: str) -> Any:
    """One GET through the guarded client: no redirects, DOCUMENT_MAX_BYTES, a time limit."""
    try:
        async with asyncio.timeout(DOCUMENT_TIMEOUT):
            async with http.get(
                url, allow_redirects=False, headers={"Accept": "application/json"}
            ) as response:
                if response.status != HTTPStatus.OK:
                    raise OidcError(f"{url} answered {response.status}")
                body = await response.content.read(DOCUMENT_MAX_BYTES + 1)
    except TimeoutError:
        raise OidcError(f"{url} did not answer in time") from None
    except aiohttp.ClientError as exc:
        reason = "is not allowed" if blocked_cause(exc) else "cannot be reached"
        raise OidcError(f"the address of {url} {reason}") from None
    if len(body) > DOCUMENT_MAX_BYTES:
        raise OidcError(f"{url} sent more than {DOCUMENT_MAX_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise OidcError(f"{url} did not send JSON") from None


async def signing_key(docs: RemoteDocuments, jwks_url: str, token: str) -> jwt.PyJWK:
    """The key of the JWKS at `jwks_url` that signed `token` (by `kid`, else the only key
    usable for its algorithm); the JWKS is fetched again once if no key matches."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OidcError("malformed token") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in JWT_ALGORITHMS:
        raise OidcError(f"token signed with {alg!r}, not an allowed algorithm")
    for attempt in range(2):
        keys = _keys(await docs.get(jwks_url, newer_than=REFETCH_SECONDS if attempt else None))
        found = [
            k for k in keys if (kid is None or k.get("kid") == kid) and k.get("use", "sig") == "sig"
        ]
        found = [k for k in found if k.get("alg") in (None, alg)]
        if len(found) == 1 or (kid is not None and found):
            try:
                return jwt.PyJWK(found[0], algorithm=alg)
            except jwt.PyJWTError as exc:
                raise OidcError(f"the signing key cannot be used: {exc}") from None
    raise OidcError("no key of the signer's JWKS matches the token")


def _keys(document: Any) -> list[dict[str, Any]]:
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise OidcError("the JWKS has no keys")
    return [k for k in keys if isinstance(k, dict)]


@dataclass(frozen=True)
class Provider:
    """What authrelay uses of an OpenID Connect provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    basic_auth: bool  # client_secret_basic (else client_secret_post)
    userinfo_endpoint: str = ""  # for claims the ID token leaves out (Core §5.4, §5.5)


async def discover(docs: RemoteDocuments, issuer: str) -> Provider:
    """The provider at `issuer` (OpenID Connect Discovery 1.0 §4: the document's `issuer`
    must be the configured one, exactly)."""
    document = await docs.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise OidcError("the provider's discovery document names another issuer")
    fields = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    values = [document.get(f) for f in fields]
    if not all(isinstance(v, str) and v.startswith(("https://", "http://")) for v in values):
        raise OidcError("the provider's discovery document lacks its endpoints")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    basic = "client_secret_basic" in methods
    if not basic and "client_secret_post" not in methods:
        raise OidcError("the provider accepts neither client_secret_basic nor _post")
    userinfo = document.get("userinfo_endpoint")
    userinfo = userinfo if isinstance(userinfo, str) and userinfo.startswith("http") else ""
    return Provider(issuer, str(values[0]), str(values[1]), str(values[2]), basic, userinfo)


def pkce_pair(verifier: str) -> str:
    """The S256 challenge of `verifier`."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    provider: Provider, client_id: str, redirect_uri: str, state: str, nonce: str, verifier: str
) -> str:
    """Where the user's browser goes to sign in (code flow, PKCE S256, state and nonce)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_pair(verifier),
            "code_challenge_method": "S256",
        }
    )
    glue = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{glue}{query}"


async def exchange_code(
    http: aiohttp.ClientSession,
    provider: Provider,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    verifier: str,
    redirect_uri: str,
) -> tuple[str, str]:
    """The ID token and access token the provider returns for `code` (RFC 6749 §4.1.3
    with PKCE)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    if provider.basic_auth:  # RFC 6749 §2.3.1: both parts form-encoded before base64
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    try:
        async with asyncio.timeout(DOCUMENT_TIMEOUT):
            async with http.post(
                provider.token_endpoint, data=form, headers=headers, allow_redirects=False
            ) as response:
                body = await response.content.read(DOCUMENT_MAX_BYTES + 1)
                status = response.status
    except TimeoutError:
        raise OidcError("the provider's token endpoint did not answer in time") from None
    except aiohttp.ClientError as exc:
        reason = "is not allowed" if blocked_cause(exc) else "cannot be reached"
        raise OidcError(f"the provider's token endpoint {reason}") from None
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status != HTTPStatus.OK or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        raise OidcError(f"the provider refused the code ({status} {error or ''})".rstrip())
    id_token, access_token = answer.get("id_token"), answer.get("access_token")
    if not isinstance(id_token, str) or not id_token:
        raise OidcError("the provider returned no ID token")
    return id_token, access_token if isinstance(access_token, str) else ""


async def user_info(
    http: aiohttp.ClientSession, provider: Provider, access_token: str, sub: str
) -> dict[str, Any]:
    """The UserInfo claims (Core §5.3), for a claim the ID token does not carry (providers
    that conform to Core §5.4 put `email` there only). Its `sub` must be the ID token's."""
    if not provider.userinfo_endpoint or not access_token:
        return {}
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        async with asyncio.timeout(DOCUMENT_TIMEOUT):
            async with http.get(
                provider.userinfo_endpoint, headers=headers, allow_redirects=False
            ) as response:
                body = await response.content.read(DOCUMENT_MAX_BYTES + 1)
                status = response.status
    except TimeoutError:
        raise OidcError("the provider's userinfo endpoint did not answer in time") from None
    except aiohttp.ClientError as exc:
        reason = "is not allowed" if blocked_cause(exc) else "cannot be reached"
        raise OidcError(f"the provider's userinfo endpoint {reason}") from None
    try:
        claims = json.loads(body) if status == HTTPStatus.OK else None
    except ValueError:
        claims = None
    if not isinstance(claims, dict) or claims.get("sub") != sub:
        raise OidcError("the provider's userinfo answer is not about the signed-in user")
    return claims


async def verify_id_token(
    docs: RemoteDocuments, provider: Provider, id_token: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The claims of an ID token (OpenID Connect Core §3.1.3.7): signature by a key of the
    provider's JWKS, `iss`, `aud` (and `azp` when several audiences), `exp`, `nonce`."""
    key = await signing_key(docs, provider.jwks_uri, id_token)
    try:
        claims = jwt.decode(
            id_token,
            key,
            algorithms=[key.algorithm_name],
            audience=client_id,
            issuer=provider.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise OidcError(f"the ID token does not verify: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise OidcError("the ID token was issued to another client (azp)")
    if claims.get("nonce") != nonce:
        raise OidcError("the ID token's nonce is not this sign-in's")
    return dict(claims)


def identifier(claims: dict[str, Any], claim: str) -> str:
    """The user's identifier from the configured claim; for `email`, the provider must not
    say the address is unverified (`email_verified` false)."""
    value = claims.get(claim)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise OidcError(f"the ID token has no {claim!r} claim (ask for it at the provider)")
    if claim == "email" and claims.get("email_verified", True) not in (True, "true"):
        raise OidcError("the provider has not verified this email address")
    return str(value).strip()[:255]
