"""The tool-call log's bodies (`/api/v1/agentkit/…`): Scalekit's `scalekit.v1.agentkit_logs`
messages with their proto field names, plus authrelay's `upstream_status`."""

from typing import Literal, NotRequired, TypedDict

from authrelay_client.wire._schema import Timestamp

CallSource = Literal["REST", "MCP", "GRPC"]
CallStatus = Literal["SUCCESS", "ERROR"]
ErrorTier = Literal["", "PROVIDER", "PLATFORM"]


class ToolCallLogBody(TypedDict):
    """One tool call: no inputs, no outputs; the message the caller was answered."""

    id: str
    environment_id: str
    execution_id: str
    agent_run_id: str
    tool_name: str
    provider: str
    connected_account_id: str
    connection_id: str
    connection_name: str
    identifier: str
    user_id: str
    organization_id: str
    source: CallSource
    status: CallStatus
    error_tier: ErrorTier
    error_code: str
    error_message: str
    duration_ms: int
    started_at: Timestamp
    upstream_status: NotRequired[int]


class ListToolCallLogsResponse(TypedDict):
    tool_call_logs: list[ToolCallLogBody]
    next_page_token: str
    prev_page_token: str
    total_size: int


class ErrorCodeCountBody(TypedDict):
    error_code: str
    count: int


class ConnectorStatBody(TypedDict):
    provider: str
    total: int
    success: int
    errors: int
    provider_errors: int
    platform_errors: int


class TimeSeriesBucketBody(TypedDict):
    bucket: Timestamp
    total: int
    success: int
    errors: int
    bucket_duration_seconds: int
    provider_errors: int
    platform_errors: int


class OverviewStatsBody(TypedDict):
    total: int
    success: int
    errors: int
    provider_errors: int
    platform_errors: int
    top_error_codes: list[ErrorCodeCountBody]
    connector_breakdown: list[ConnectorStatBody]
    time_series: list[TimeSeriesBucketBody]
