"""The OAuth 2.0 client (RFC 6749): the authorization request, the code exchange (§4.1),
the client-credentials grant (§4.4) and refresh (§6), with `client_secret_post` or
`client_secret_basic` (§2.3.1).

One exception class per RFC error code the rest of authrelay acts on; every other failure
is `TokenEndpointError`. An error's code and description are the token endpoint's text with
every secret the request carried (client secret, the Basic pair, refresh token, code, PKCE
verifier) blanked out (`authrelay.redact`): endpoints that echo their input exist. The core
never knows the storage: callers persist what it returns.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from authrelay.netguard import unreachable
from authrelay.redact import Redactor
from authrelay_client.wire import JSONObject

# What of a token endpoint's error answer may be shown (docs/api.md): an RFC 6749 §5.2 error
# code, and one line of at most 300 characters of its description, never the rest of a body.
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}")
_MAX_DESCRIPTION = 300


class OAuthFlowError(Exception):
    """Base: the upstream's OAuth server refused or failed; `error` is the RFC code."""

    error = "server_error"

    def __init__(self, description: str, error: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        if error:
            self.error = error


class InvalidGrant(OAuthFlowError):
    """`invalid_grant`: the code or refresh token is invalid, expired or revoked."""

    error = "invalid_grant"


class AccessDenied(OAuthFlowError):
    """`access_denied`: the user (or the server) declined the authorization."""

    error = "access_denied"


class TokenEndpointError(OAuthFlowError):
    """Any other failure at the token endpoint: an error code, non-JSON, unreachable."""


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    client_secret: str
    token_uri: str
    auth_method: str = "client_secret_post"
    # Extra token-request parameters (oauth_config.token_params, filled): never override
    # the ones the grant sets.
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    scopes: list[str] | None
    extra: JSONObject = field(default_factory=dict)


def authorization_url(
    authorize_uri: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: list[str],
    scope_param: str = "scope",
    scope_separator: str = " ",
    code_challenge: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """The authorize redirect. From `extra` (the provider's authorization_params and the
    connection's options), `response_type` replaces "code" and, when scopes travel under
    `scope`, `scope` adds its scopes to the requested ones (SPEC §3a); every other key
    authrelay sets itself wins over `extra`."""
    extra = dict(extra or {})
    params: dict[str, str] = {
        "response_type": extra.pop("response_type", "") or "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scope_param == "scope" and "scope" in extra:
        scopes = merge_scopes(scopes, extra.pop("scope"), scope_separator)
    if scopes:
        params[scope_param] = scope_separator.join(scopes)
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    for key, value in extra.items():
        params.setdefault(key, value)
    separator = "&" if urlsplit(authorize_uri).query else "?"
    return authorize_uri + separator + urlencode(params, quote_via=quote)


def merge_scopes(scopes: list[str], added: str, separator: str = " ") -> list[str]:
    """`scopes` followed by those of `added` (split on whitespace and `separator`) that are
    not already there, in order."""
    out = list(dict.fromkeys(scopes))
    for scope in added.replace(separator, " ").split() if separator else added.split():
        if scope not in out:
            out.append(scope)
    return out


def _client_auth(client: ClientConfig, form: dict[str, str]) -> dict[str, str]:
    if client.auth_method == "client_secret_basic":
        user = quote(client.client_id, safe="")
        secret = quote(client.client_secret, safe="")
        raw = base64.b64encode(f"{user}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}
    form["client_id"] = client.client_id
    form["client_secret"] = client.client_secret
    return {}


def parse_token_response(
    status: int, text: str, previous_refresh: str | None, redactor: Redactor | None = None
) -> TokenSet:
    """The token set of a token endpoint's answer; an OAuthFlowError whose code and
    description pass through `redactor` otherwise."""
    shown = redactor.text if redactor is not None else str
    try:
        body = json.loads(text)
    except ValueError:
        raise TokenEndpointError(
            f"the token endpoint answered HTTP {status} with a body that is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise TokenEndpointError("the token endpoint answered JSON that is not an object")
    if status >= HTTPStatus.BAD_REQUEST or "error" in body:
        code = body.get("error")
        code = shown(code) if isinstance(code, str) else code
        if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code):
            code = "server_error"
        given = body.get("error_description")
        given = shown(given) if isinstance(given, str) else given
        text = " ".join(given.split())[:_MAX_DESCRIPTION] if isinstance(given, str) else ""
        description = text or f"HTTP {status}"
        if code == "invalid_grant":
            raise InvalidGrant(description)
        raise TokenEndpointError(description, code)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenEndpointError("the token endpoint answered without an access_token")
    expires_in = body.get("expires_in")
    try:
        expires_at = time.time() + float(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        expires_at = None
    refresh = body.get("refresh_token")
    scope = body.get("scope")
    scopes = scope.replace(",", " ").split() if isinstance(scope, str) else None
    return TokenSet(
        access_token=access,
        # RFC 6749 §6: when no new refresh token is issued, the old one stays valid.
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous_refresh,
        expires_at=expires_at,
        scopes=scopes,
    )


async def _token_request(
    http: aiohttp.ClientSession, client: ClientConfig, form: dict[str, str], previous: str | None
) -> TokenSet:
    for key, value in client.params:
        form.setdefault(key, value)
    headers = {"Accept": "application/json", **_client_auth(client, form)}
    redactor = Redactor(
        [
            client.client_secret,
            previous,
            *(form.get(k) for k in ("refresh_token", "code", "code_verifier")),
        ],
        pairs=[(client.client_id, client.client_secret)],
    )
    try:
        async with http.post(
            client.token_uri,
            data=form,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text(errors="replace")
            return parse_token_response(response.status, text, previous, redactor)
    except (aiohttp.ClientError, OSError) as exc:  # OSError: the guard, timeouts
        raise TokenEndpointError(unreachable("the token endpoint", exc)) from None


async def exchange_code(
    http: aiohttp.ClientSession,
    client: ClientConfig,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> TokenSet:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    return await _token_request(http, client, form, None)


async def refresh(
    http: aiohttp.ClientSession, client: ClientConfig, refresh_token: str
) -> TokenSet:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _token_request(http, client, form, refresh_token)


async def client_credentials(
    http: aiohttp.ClientSession,
    client: ClientConfig,
    *,
    scopes: list[str],
    scope_param: str = "scope",
    scope_separator: str = " ",
) -> TokenSet:
    """RFC 6749 §4.4: a token for the client itself (no user, no refresh token)."""
    form = {"grant_type": "client_credentials"}
    if scopes:
        form[scope_param] = scope_separator.join(scopes)
    return await _token_request(http, client, form, None)


async def user_info(http: aiohttp.ClientSession, url: str, access_token: str) -> JSONObject | None:
    """The user_info_uri's JSON object, or None when it cannot be had (never fatal); the
    access token it was sent with is blanked out of it."""
    try:
        async with http.get(
            url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=15),
        ) as response:
            if response.status != HTTPStatus.OK:
                return None
            body = json.loads(await response.text(errors="replace"))
    except (aiohttp.ClientError, OSError, ValueError):  # OSError: the guard, timeouts
        return None
    if not isinstance(body, dict):
        return None
    cleaned: JSONObject = Redactor([access_token]).json(body)
    return cleaned
