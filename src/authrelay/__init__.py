"""authrelay: a self-hostable agent auth server, and its Python client."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authrelay.client._client import AsyncClient, Client
    from authrelay.client._exceptions import (
        AlreadyExistsError,
        APIConnectionError,
        ApiError,
        APITimeoutError,
        AuthenticationError,
        AuthrelayClientError,
        ConfigurationError,
        DeadlineExceededError,
        FailedPreconditionError,
        InternalError,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        ProxyError,
        UnauthenticatedError,
        UnavailableError,
        UnimplementedError,
    )
    from authrelay.client.models import (
        AuthorizationLink,
        ConnectedAccount,
        Connection,
        Provider,
        ProviderDefinition,
    )

__version__ = "0.1.0"


__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AlreadyExistsError",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "AuthorizationLink",
    "AuthrelayClientError",
    "Client",
    "ConfigurationError",
    "ConnectedAccount",
    "Connection",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "Provider",
    "ProviderDefinition",
    "ProxyError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "__version__",
]


# Imported on first use (PEP 562), so the CLI and the server do not load the SDK (httpx).
_LAZY = {
    "AsyncClient": "authrelay.client._client",
    "Client": "authrelay.client._client",
    "AuthorizationLink": "authrelay.client.models",
    "ConnectedAccount": "authrelay.client.models",
    "Connection": "authrelay.client.models",
    "Provider": "authrelay.client.models",
    "ProviderDefinition": "authrelay.client.models",
}


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import importlib

        module = importlib.import_module(_LAZY.get(name, "authrelay.client._exceptions"))
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'authrelay' has no attribute {name!r}")
