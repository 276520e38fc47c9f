"""Scalekit's Python SDK's generated messages (scalekit-sdk-python, the test extra) for tests
that speak gRPC as the SDK does. Importing any `scalekit` module runs the package's
`__init__`, whose pydantic models warn of deprecated class-based config at class creation
(an error under `filterwarnings = error`): that import is done here once, with those
warnings ignored."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import scalekit  # noqa: F401
    from scalekit.v1.connected_accounts import connected_accounts_pb2 as ca
    from scalekit.v1.connections import connections_pb2 as cn
    from scalekit.v1.errdetails import errdetails_pb2 as errdetails
    from scalekit.v1.mcp import mcp_pb2 as mcp
    from scalekit.v1.providers import providers_pb2 as pv
    from scalekit.v1.tools import tools_pb2 as tl

__all__ = ["ca", "cn", "errdetails", "mcp", "pv", "tl"]
