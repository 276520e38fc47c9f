"""tool_call_logs: one row per tool call (REST execute_tool, MCP tools/call, gRPC), written
in batches off the request path and deleted after the retention time (docs/tools.md)

Revision ID: 0014_tool_call_logs
Revises: 0013_mcp_grants
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_tool_call_logs"
down_revision = "0013_mcp_grants"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tool_call_logs",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("execution_id", sa.String(40), nullable=False, unique=True),
        sa.Column("agent_run_id", sa.String(200), nullable=False),
        sa.Column("tool_name", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("connection_name", sa.String(200), nullable=False),
        sa.Column("connected_account_id", sa.String(40), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error_tier", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=False),
        sa.Column("error_message", sa.Text, nullable=False),
        sa.Column("upstream_status", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_tool_call_logs_env_started", "tool_call_logs", ["environment_id", "started_at"]
    )
    op.create_index("ix_tool_call_logs_started", "tool_call_logs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_tool_call_logs_started", table_name="tool_call_logs")
    op.drop_index("ix_tool_call_logs_env_started", table_name="tool_call_logs")
    op.drop_table("tool_call_logs")
