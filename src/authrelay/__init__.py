"""authrelay: a self-hostable agent auth server. The Python client is the `authrelay-client`
distribution (`authrelay_client`); `authrelay.Client` and friends mirror it."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authrelay_client import (
        AlreadyExistsError,
        APIConnectionError,
        ApiError,
        APITimeoutError,
        AsyncClient,
        AuthenticationError,
        AuthorizationLink,
        AuthrelayClientError,
        Client,
        Code,
        ConfigurationError,
        ConnectedAccount,
        Connection,
        DeadlineExceededError,
        FailedPreconditionError,
        InternalError,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        Provider,
        ProviderDefinition,
        ProxyError,
        UnauthenticatedError,
        UnavailableError,
        UnimplementedError,
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
    "Code",
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


# The SDK lives in the `authrelay-client` distribution (`authrelay_client`); these names
# mirror it, imported on first use (PEP 562) so the CLI and the server do not load it (httpx).
def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import authrelay_client

        value = getattr(authrelay_client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'authrelay' has no attribute {name!r}")
