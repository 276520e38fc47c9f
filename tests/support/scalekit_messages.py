"""Scalekit's Python SDK's generated messages and exceptions (scalekit-sdk-python, the test extra) for tests
that speak gRPC as the SDK does. Importing any `scalekit` module runs the package's
`__init__`, whose pydantic models warn of deprecated class-based config at class creation
(an error under `filterwarnings = error`): that import is done here once, with those
warnings ignored."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import scalekit  # noqa: F401
    from scalekit.common import exceptions
    from scalekit.v1.agentkit_logs import agentkit_analytics_pb2 as an
    from scalekit.v1.agentkit_logs import agentkit_logs_pb2 as al
    from scalekit.v1.connected_accounts import connected_accounts_pb2 as ca
    from scalekit.v1.connections import connections_pb2 as cn
    from scalekit.v1.errdetails import errdetails_pb2 as errdetails
    from scalekit.v1.mcp import mcp_pb2 as mcp
    from scalekit.v1.providers import providers_pb2 as pv
    from scalekit.v1.tools import tools_pb2 as tl

CA = "/scalekit.v1.connected_accounts.ConnectedAccountService/"
TOOLS = "/scalekit.v1.tools.ToolService/"
PROVIDERS = "/scalekit.v1.providers.ProviderService/"
CONNECTIONS = "/scalekit.v1.connections.ConnectionService/"
MCP = "/scalekit.v1.mcp.McpService/"
LOGS = "/scalekit.v1.agentkit_logs.AgentkitLogsService/"
ANALYTICS = "/scalekit.v1.agentkit_logs.AgentkitAnalyticsService/"

__all__ = [
    "ANALYTICS",
    "CA",
    "CONNECTIONS",
    "LOGS",
    "MCP",
    "PROVIDERS",
    "TOOLS",
    "al",
    "an",
    "ca",
    "cn",
    "errdetails",
    "error_info",
    "exceptions",
    "mcp",
    "pv",
    "tl",
]


def error_info(status: Any) -> Any:
    """The first detail of a `google.rpc.Status` as Scalekit's ErrorInfo (what the SDKs read)."""
    info = errdetails.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info
