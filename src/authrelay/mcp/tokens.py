"""MCP session tokens: EdDSA JWTs signed with the environment's signing keys, like API
tokens, but with their own `typ` claim and the MCP server URL as audience, so an API token is
never accepted by the MCP server and an MCP token never by the API (whose audience is
`authrelay-api`)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, TypedDict

from authrelay.auth.jwt_keys import KeySet
from authrelay.errors import InvalidArgument, Unauthenticated

TOKEN_TYPE = "authrelay-mcp"  # noqa: S105 (a claim value, not a secret)
MIN_EXPIRY = 60
MAX_EXPIRY = 86_400
DEFAULT_EXPIRY = 3_600
_DURATION = re.compile(r"^\s*(\d{1,9})s?\s*$")
ACCESS_LEVELS = ("FULL", "READ_ONLY")
# OAuth scopes of the MCP authorization server, mapped onto the access levels: `mcp:write`
# is FULL, `mcp:read` alone READ_ONLY (docs/mcp-authorization.md, "Scopes").
READ_SCOPE = "mcp:read"
WRITE_SCOPE = "mcp:write"
SCOPES = (READ_SCOPE, WRITE_SCOPE)
ALL_SCOPES = " ".join(SCOPES)


# Names MCP hosts add out of habit (OpenID Connect's, and `offline_access` for a refresh
# token, which authrelay always issues): ignored, as RFC 6749 §3.3 lets a server do.
IGNORED_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def parse_scope(raw: str) -> str:
    """A requested `scope` (RFC 6749 §3.3) in its normal form (known scopes, in SCOPES'
    order); none asked for is both. IGNORED_SCOPES are left out; ValueError naming any
    other unknown scope."""
    asked = set(raw.split()) - IGNORED_SCOPES
    unknown = sorted(asked - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}: use {ALL_SCOPES}")
    return " ".join(s for s in SCOPES if s in asked) if asked else ALL_SCOPES


def granted_scopes(stored: str) -> frozenset[str]:
    """The scopes a stored grant, request or refresh token holds; one stored before scopes
    were checked (empty, or none known) holds both, as such tokens were FULL."""
    known = frozenset(stored.split()) & frozenset(SCOPES)
    return known or frozenset(SCOPES)


def scope_access_level(scope: str) -> str:
    """The access level of an OAuth-issued token of `scope`: FULL with `mcp:write`."""
    return "FULL" if WRITE_SCOPE in granted_scopes(scope) else "READ_ONLY"


def parse_access_level(raw: Any) -> str:
    """CreateMcpSessionToken's `access_level`: `FULL` (also when left out or empty, proto3's
    unset string) or `READ_ONLY`; case-sensitive, as Scalekit's."""
    if raw is None or raw == "":
        return "FULL"
    if raw not in ACCESS_LEVELS:
        raise InvalidArgument.field("access_level", "must be FULL or READ_ONLY")
    return str(raw)


@dataclass(frozen=True)
class McpGrant:
    """What a verified MCP token allows: `identifier`'s accounts behind one MCP URL."""

    environment_id: str
    identifier: str
    audience: str
    config_id: str  # empty for a connection URL
    connection: str  # empty for a config URL
    account_ids: tuple[str, ...]
    expires_at: int
    access_level: str = "FULL"  # READ_ONLY: read-only tools only (`tools.model.is_read_only`)
    grant_id: str = ""  # a token of the MCP authorization server: the user's grant (consent)

    @property
    def read_only(self) -> bool:
        return self.access_level == "READ_ONLY"


def parse_expiry(raw: Any) -> int:
    """Scalekit's `expiry` (`"3600s"`; authrelay also takes a number of seconds)."""
    if raw is None or raw == "":
        return DEFAULT_EXPIRY
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    match = _DURATION.match(text) if isinstance(text, str) else None
    seconds = int(match.group(1)) if match else -1
    if not MIN_EXPIRY <= seconds <= MAX_EXPIRY:
        raise InvalidArgument.field(
            "expiry", f'must be a duration from {MIN_EXPIRY}s to {MAX_EXPIRY}s, like "3600s"'
        )
    return seconds


class McpTokenClaims(TypedDict):
    """What an MCP session token says: who (`sub`), for which MCP URL (`aud`) and config or
    connection, and the connected accounts it may use."""

    iss: str
    typ: str
    aud: str
    sub: str
    env: str
    mcp_cfg: str
    mcp_conn: str
    ca_ids: list[str]
    mcp_access: str
    iat: int
    nbf: int
    exp: int
    jti: str


def issue(
    keys: KeySet,
    *,
    environment_id: str,
    identifier: str,
    audience: str,
    config_id: str,
    connection: str,
    account_ids: list[str],
    seconds: int,
    access_level: str = "FULL",
    issuer: str = "authrelay",
    grant_id: str = "",
) -> tuple[str, int]:
    """(the token, its expiry as a Unix time)."""
    now = int(time.time())
    claims: McpTokenClaims = {
        "iss": issuer,
        "typ": TOKEN_TYPE,
        "aud": audience,
        "sub": identifier,
        "env": environment_id,
        "mcp_cfg": config_id,
        "mcp_conn": connection,
        "ca_ids": account_ids,
        "mcp_access": access_level,
        "iat": now,
        "nbf": now,
        "exp": now + seconds,
        "jti": secrets.token_urlsafe(12),
    }
    signed: dict[str, Any] = dict(claims)
    if grant_id:
        signed["mcp_grant"] = grant_id
    return keys.sign(signed), now + seconds


def verify(
    keys: KeySet,
    token: str,
    audience: str,
    issuer: str = "authrelay",
    *,
    renew_at: str = "/api/v1/mcp/configs/{config_id}/tokens",
) -> McpGrant:
    """The grant of a valid MCP token for `audience` (the MCP URL asked for), or
    Unauthenticated saying what is wrong (an expired token: make one at `renew_at`)."""
    data = keys.decode(
        token,
        name="MCP token",
        renew=f"create a new one (POST {renew_at})",
        issuer=issuer,
        require=["exp", "iat", "sub", "aud", "env"],
    )
    if data.get("typ") != TOKEN_TYPE:
        raise Unauthenticated("this is not an MCP token (API tokens are not accepted here)")
    if data.get("aud") != audience:
        raise Unauthenticated(f"the MCP token is not for {audience}")
    ids = data.get("ca_ids") or []
    access = data.get("mcp_access", "FULL")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Unauthenticated("the MCP token is invalid: bad claims")
    if access not in ACCESS_LEVELS:
        raise Unauthenticated("the MCP token is invalid: bad claims")
    return McpGrant(
        environment_id=str(data["env"]),
        identifier=str(data["sub"]),
        audience=audience,
        config_id=str(data.get("mcp_cfg") or ""),
        connection=str(data.get("mcp_conn") or ""),
        account_ids=tuple(ids),
        expires_at=int(data["exp"]),
        access_level=str(access),
        grant_id=str(data.get("mcp_grant") or ""),
    )
