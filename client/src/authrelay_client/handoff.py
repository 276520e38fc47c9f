"""The login hand-off's two messages, built and verified the same way by authrelay and by
the team's app (docs/mcp-authorization.md): authrelay sends the user to the team's hand-off
URL with a signed *request*; the app signs its user in and sends them back with a signed
*assertion* naming the identifier.

A message is `base64url(JSON) "." base64url(HMAC-SHA256(secret, typ "." base64url(JSON)))`
(no padding); the JSON carries `typ`, `iat` and `exp`. Standard library only.

The assertion may instead be a JWT signed with a private key whose public half the app
publishes as a JWKS (`authrelay env login ENV --handoff-jwks-url URL`):
`build_jwt_assertion` / `verify_jwt_assertion`, which need PyJWT with its crypto extra
(`pip install "authrelay-client[jwt]"`); the HMAC functions need nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

REQUEST_TYPE = "authrelay-handoff-request"
ASSERTION_TYPE = "authrelay-handoff-assertion"
MAX_LIFETIME = 300
_MAX_LENGTH = 4096
# asymmetric algorithms only: an HMAC JWT would need a shared secret, which the HMAC message has
JWT_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


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


def is_jwt(message: str) -> bool:
    """Whether an assertion has the JWT's three parts (the HMAC message has two)."""
    return isinstance(message, str) and message.count(".") == 2


def _pyjwt() -> ModuleType:
    try:
        import jwt
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            'JWT hand-off assertions need PyJWT: pip install "authrelay-client[jwt]"'
        ) from None
    return jwt


def build_jwt_assertion(
    private_key: Any,
    request_id: str,
    identifier: str,
    audience: str,
    *,
    algorithm: str = "ES256",
    kid: str | None = None,
    lifetime: int = MAX_LIFETIME,
) -> str:
    """app → authrelay, signed with the app's private key (a `cryptography` key or PEM):
    the user it signed in for request `request_id`; `audience` is the request's `return_to`.
    `kid` names the key in the app's JWKS."""
    if algorithm not in JWT_ALGORITHMS:
        raise HandoffError(f"algorithm must be one of {', '.join(JWT_ALGORITHMS)}")
    now = int(time.time())
    claims = {
        "typ": ASSERTION_TYPE,
        "rid": request_id,
        "sub": identifier,
        "aud": audience,
        "iat": now,
        "exp": now + min(lifetime, MAX_LIFETIME),
    }
    headers = {"kid": kid} if kid else None
    return str(_pyjwt().encode(claims, private_key, algorithm=algorithm, headers=headers))


def public_jwks(private_key: Any, kid: str, algorithm: str = "ES256") -> dict[str, Any]:
    """The JWKS the app publishes at its `--handoff-jwks-url`: the public half of
    `private_key` (a `cryptography` private key), named `kid`."""
    jwt = _pyjwt()
    if algorithm not in JWT_ALGORITHMS:
        raise HandoffError(f"algorithm must be one of {', '.join(JWT_ALGORITHMS)}")
    family = jwt.get_algorithm_by_name(algorithm)
    key = dict(family.to_jwk(private_key.public_key(), as_dict=True))
    key.update(kid=kid, alg=algorithm, use="sig")
    return {"keys": [key]}


def jwt_header(message: str) -> dict[str, Any]:
    """The unverified header of a JWT assertion (to pick the key by `kid`), or HandoffError."""
    jwt = _pyjwt()
    if not is_jwt(message) or len(message) > _MAX_LENGTH:
        raise HandoffError("malformed hand-off assertion")
    try:
        header = jwt.get_unverified_header(message)
    except jwt.PyJWTError:
        raise HandoffError("malformed hand-off assertion") from None
    if header.get("alg") not in JWT_ALGORITHMS:
        raise HandoffError("hand-off assertion signed with an algorithm not allowed")
    return dict(header)


def verify_jwt_assertion(
    public_key: Any, message: str, audience: str, now: float | None = None
) -> dict[str, Any]:
    """authrelay's check of a JWT assertion with the app's public key (a `jwt.PyJWK` or a
    `cryptography` key): signature, `aud`, expiry, lifetime; `{rid, sub, aud, iat, exp}`."""
    jwt = _pyjwt()
    algorithm = jwt_header(message)["alg"]
    try:
        data = jwt.decode(
            message,
            public_key,
            algorithms=[algorithm],
            audience=audience,
            options={"require": ["exp", "iat", "aud", "sub"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise HandoffError("hand-off message expired") from None
    except jwt.InvalidAudienceError:
        raise HandoffError("hand-off assertion for another audience") from None
    except jwt.PyJWTError as exc:
        raise HandoffError(f"bad hand-off assertion: {exc}") from None
    if not isinstance(data, dict) or data.get("typ") != ASSERTION_TYPE:
        raise HandoffError("not a hand-off message of this kind")
    exp, iat = data.get("exp"), data.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > MAX_LIFETIME:
        raise HandoffError("hand-off message without a valid lifetime")
    if (time.time() if now is None else now) >= exp:
        raise HandoffError("hand-off message expired")
    if not all(isinstance(data.get(k), str) and data[k] for k in ("rid", "sub")):
        raise HandoffError("hand-off assertion without rid or sub")
    return dict(data)
