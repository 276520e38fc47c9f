"""mcp_configs: MCP server configurations (which connections and tools one MCP URL serves)

Revision ID: 0007_mcp
Revises: 0005_tools
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_mcp"
down_revision = "0006_dashboard"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mcp_configs",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("access_level", sa.String(16), nullable=False),
        sa.Column("mappings", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("environment_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("mcp_configs")
