"""authrelay: a self-hostable agent auth server, and its Python client."""

from authrelay.client._client import AsyncClient, Client
from authrelay.client._exceptions import (
    ApiError,
    AuthenticationError,
    AuthrelayClientError,
    ConfigurationError,
    ProxyError,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "AuthrelayClientError",
    "Client",
    "ConfigurationError",
    "ProxyError",
    "__version__",
]
