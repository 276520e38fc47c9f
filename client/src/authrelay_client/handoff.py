"""The login hand-off's two messages, built and verified the same way by authrelay and by
the team's app (docs/mcp-authorization.md): authrelay sends the user to the team's hand-off
URL with a signed *request*; the app signs its user in and sends them back with a signed
*assertion* naming the identifier.

A message is `base64url(JSON) "." base64url(HMAC-SHA256(secret, typ "." base64url(JSON)))`
(no padding); the JSON carries `typ`, `iat` and `exp`. Standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

REQUEST_TYPE = "authrelay-handoff-request"
ASSERTION_TYPE = "authrelay-handoff-assertion"
MAX_LIFETIME = 300
_MAX_LENGTH = 4096


class HandoffError(ValueError):
    """A hand-off message that is malformed, forged, of the wrong kind or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, typ: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{typ}.{body}".encode(), hashlib.sha256).digest())


def sign(secret: str, typ: str, claims: dict[str, Any], lifetime: int = MAX_LIFETIME) -> str:
    """A message of kind `typ` carrying `claims`, valid for `lifetime` seconds."""
    now = int(time.time())
    data = {**claims, "typ": typ, "iat": now, "exp": now + min(lifetime, MAX_LIFETIME)}
    body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, typ, body)}"


def verify(secret: str, typ: str, message: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a valid message of kind `typ`, or HandoffError."""
    if not isinstance(message, str) or len(message) > _MAX_LENGTH or message.count(".") != 1:
        raise HandoffError("malformed hand-off message")
    body, mac = message.split(".")
    if not hmac.compare_digest(mac, _mac(secret, typ, body)):
        raise HandoffError("bad hand-off signature")
    try:
        data = json.loads(_unb64(body))
    except ValueError:
        raise HandoffError("malformed hand-off message") from None
    if not isinstance(data, dict) or data.get("typ") != typ:
        raise HandoffError("not a hand-off message of this kind")
    exp, iat = data.get("exp"), data.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > MAX_LIFETIME:
        raise HandoffError("hand-off message without a valid lifetime")
    if (time.time() if now is None else now) >= exp:
        raise HandoffError("hand-off message expired")
    return data


def build_request(secret: str, request_id: str, environment_id: str, return_to: str) -> str:
    """authrelay → app: which pending authorization, and where to send the user back."""
    return sign(
        secret, REQUEST_TYPE, {"rid": request_id, "env": environment_id, "return_to": return_to}
    )


def verify_request(secret: str, message: str) -> dict[str, Any]:
    """The app's check of authrelay's request: `{rid, env, return_to, iat, exp}`."""
    data = verify(secret, REQUEST_TYPE, message)
    if not all(isinstance(data.get(k), str) and data[k] for k in ("rid", "env", "return_to")):
        raise HandoffError("hand-off request without rid, env or return_to")
    return data


def build_assertion(secret: str, request_id: str, identifier: str) -> str:
    """app → authrelay: the user it signed in, for the request it was sent."""
    return sign(secret, ASSERTION_TYPE, {"rid": request_id, "sub": identifier})


def verify_assertion(secret: str, message: str) -> dict[str, Any]:
    """authrelay's check of the app's assertion: `{rid, sub, iat, exp}`."""
    data = verify(secret, ASSERTION_TYPE, message)
    if not all(isinstance(data.get(k), str) and data[k] for k in ("rid", "sub")):
        raise HandoffError("hand-off assertion without rid or sub")
    return data
