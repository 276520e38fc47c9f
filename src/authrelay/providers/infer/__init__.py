"""Provider inference: an OpenAPI document and/or a docs page in, a provider definition out.

``infer(openapi=..., docs=..., name=...)`` takes document *text* (the CLI reads files and
URLs) and returns an :class:`InferenceResult`: the definition (validated with
``validate_definition``, or None), the auth type with its evidence, the assumptions made and
what is missing. It never raises: malformed, oversized (over 5 MB) or adversarial documents
(deep nesting, YAML alias bombs) end up as sentences in ``missing``.

**Which scheme is used.** Only usable schemes compete (an API key in a cookie, OAuth with
neither an authorization-code nor a client-credentials flow, OpenID Connect discovery,
mutual TLS and HTTP schemes other than basic/bearer are reported, never chosen). Schemes
from the OpenAPI document win over schemes seen in the docs; among them the order is

    OAUTH (authorization code, else client credentials)  >  BEARER  >  API_KEY (in a header)
        >  BASIC  >  API_KEY (in the query: ``auth_query_param``)

and, for equal types, the first one in the document. OAuth comes first because it connects
users' own accounts and a bearer header in docs is usually how OAuth tokens are sent; basic
comes after the header schemes because it usually means a password, and a key in the query
last because upstreams write URLs to their logs. Every other scheme is listed in
``alternatives``.
"""

from __future__ import annotations

from authrelay.providers.infer.common import ALLOWLIST
from authrelay.providers.infer.engine import run
from authrelay.providers.infer.parse import MAX_BYTES
from authrelay.providers.infer.result import InferenceResult
from authrelay_client.providers.allowlist import UpstreamAllowlist

__all__ = ["MAX_BYTES", "InferenceResult", "infer"]


def infer(
    openapi: str | bytes | None = None,
    docs: str | bytes | None = None,
    name: str | None = None,
    allowlist: UpstreamAllowlist | None = None,
) -> InferenceResult:
    """Infer a provider definition from OpenAPI and/or docs text; never raises. Hosts on
    `allowlist` (the server's AUTHRELAY_UPSTREAM_ALLOWLIST) keep a plain http:// scheme."""
    token = ALLOWLIST.set(allowlist or UpstreamAllowlist([]))
    try:
        return run(openapi, docs, name)
    except Exception as exc:  # a last resort: inference must not crash the CLI
        result = InferenceResult()
        result.missing.append(
            f"inference stopped on an unexpected {type(exc).__name__}; nothing was generated"
        )
        return result
    finally:
        ALLOWLIST.reset(token)
