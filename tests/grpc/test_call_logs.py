"""The tool-call log through the gRPC gateway: a call made with ExecuteToolRequest is
listed by ListToolCallLogs (source GRPC), fetched by GetToolCallLog, and counted by
GetOverviewStats, all as Scalekit's generated messages."""

from __future__ import annotations

import time

from google.protobuf import struct_pb2

from tests.support.grpc_asgi import InProcessApp, call, frame
from tests.support.scalekit_messages import ANALYTICS, LOGS, TOOLS, al, an, tl


def test_a_grpc_tool_call_is_listed_fetched_and_counted(
    inproc: InProcessApp, token: str, setup: dict[str, str]
) -> None:
    params = struct_pb2.Struct()
    params.update({"owner": "octo"})
    done = call(
        inproc,
        TOOLS + "ExecuteTool",
        tl.ExecuteToolRequest(
            tool_name="grpc_items",
            identifier="user-1",
            connector="grpc-tools",
            params=params,
            agent_run_id="grpc-run-1",
        ),
        token,
        tl.ExecuteToolResponse,
    )
    query = al.ListToolCallLogsRequest(agent_run_id="grpc-run-1", source=["GRPC"])
    deadline = time.monotonic() + 30
    while True:  # written by the background task, about a second after the call
        listed = call(inproc, LOGS + "ListToolCallLogs", query, token, al.ListToolCallLogsResponse)
        if listed.tool_call_logs or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (log,) = listed.tool_call_logs
    assert listed.total_size == 1
    assert log.execution_id == done.execution_id and log.source == "GRPC"
    assert log.tool_name == "grpc_items" and log.provider == setup["provider"]
    assert log.connected_account_id == setup["account"] and log.status == "SUCCESS"
    assert log.connection_name == "grpc-tools" and log.identifier == "user-1"
    assert log.started_at.seconds > 0

    got = call(
        inproc,
        LOGS + "GetToolCallLog",
        al.GetToolCallLogRequest(execution_id=done.execution_id),
        token,
        al.ToolCallLog,
    )
    assert got == log
    missing = inproc.grpc(
        LOGS + "GetToolCallLog",
        frame(al.GetToolCallLogRequest(execution_id="exe_none").SerializeToString()),
        token=token,
    )
    assert missing.grpc_status == 5

    stats = call(
        inproc,
        ANALYTICS + "GetOverviewStats",
        an.GetOverviewStatsRequest(source=["GRPC"]),
        token,
        an.OverviewStats,
    )
    assert stats.total >= 1 and stats.success >= 1
    assert stats.connector_breakdown[0].provider == setup["provider"]
