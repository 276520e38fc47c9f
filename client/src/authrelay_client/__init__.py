"""The Python client for authrelay and Scalekit-compatible servers (`authrelay-client`).

`Client` / `AsyncClient` are the entry points; `authrelay_client.models` holds the typed
answers, `authrelay_client.providers` the provider-definition contract the server validates
against, and `authrelay_client.integrations` the agent framework glue. The distribution
depends on httpx and pydantic only; the server (`authrelay`) depends on it and mirrors these
names as `authrelay.Client`, `authrelay.client` and `authrelay.integrations`.

The names below are imported on first use (PEP 562): the server imports the definition
contract (`authrelay_client.providers`) at start, and its CLI should not pay for httpx and
the client's models then."""

import typing as _typing

if _typing.TYPE_CHECKING:
    from authrelay_client._client import AsyncClient, Client
    from authrelay_client._exceptions import (
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
    from authrelay_client.codes import Code
    from authrelay_client.models import (
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


_SOURCES = {
    "AsyncClient": "authrelay_client._client",
    "Code": "authrelay_client.codes",
    "Client": "authrelay_client._client",
    "AuthorizationLink": "authrelay_client.models",
    "ConnectedAccount": "authrelay_client.models",
    "Connection": "authrelay_client.models",
    "Provider": "authrelay_client.models",
    "ProviderDefinition": "authrelay_client.models",
}


def __getattr__(name: str) -> object:
    if name in __all__ and name != "__version__":
        import importlib

        module = importlib.import_module(_SOURCES.get(name, "authrelay_client._exceptions"))
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'authrelay_client' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
