"""authrelay: a self-hostable agent auth server. The Python client is the `authrelay-client`
distribution (`authrelay_client`); `authrelay.Client` and friends mirror it."""

from typing import TYPE_CHECKING, Any

# Only the package: its names are imported on first use, so this loads neither httpx nor
# the client's models.
import authrelay_client

if TYPE_CHECKING:
    from authrelay_client import *  # noqa: F403

__version__ = "0.1.0"

#: the SDK's names (and `__version__`), which the mirror serves
__all__ = authrelay_client.__all__


# These names mirror the SDK's, imported on first use (PEP 562) so the CLI and the server
# do not load it (httpx).
def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        value = getattr(authrelay_client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'authrelay' has no attribute {name!r}")
