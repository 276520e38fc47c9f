"""One default TLS context for every httpx client the tests make.

httpx builds a new context for each client, reading the whole CA bundle (about 20 ms of CPU
each); the suite makes thousands of clients (`httpx.get`, `Server.api`, the SDK and the CLI
run in-process), which cost more CPU than many of the tests themselves. Clients made with
the default `verify` share one context here, made the way httpx makes it (certifi's bundle,
or SSL_CERT_FILE / SSL_CERT_DIR as they are set when a client is made); any other `verify`
or a client certificate gets its own context as before. (httpcore sets the ALPN protocols
on the context per connection: the same list for every HTTP/1.1 client; no test uses HTTP/2.)
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import httpx._transports.default as transports

_original = transports.create_ssl_context
_shared: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}


def _create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    if verify is not True or cert is not None:
        return _original(verify=verify, cert=cert, trust_env=trust_env)
    key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    if key not in _shared:
        _shared[key] = _original(verify=verify, cert=cert, trust_env=trust_env)
    return _shared[key]


def share_default_context() -> None:
    transports.create_ssl_context = _create_ssl_context
