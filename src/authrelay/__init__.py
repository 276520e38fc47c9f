"""authrelay: a self-hostable agent auth server, and its Python client."""

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
