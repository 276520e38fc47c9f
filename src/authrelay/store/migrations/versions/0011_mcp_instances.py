"""mcp_instances: named per-user instances of an MCP config, each with a pre-authenticated URL

The URL's key is stored twice: as a SHA-256 hash (`key_hash`, how an MCP request finds its
instance) and sealed by the vault (`secret_ct`, so the API can show the URL again). An
instance goes with its config (ON DELETE CASCADE; SQLite enforces foreign keys).

Revision ID: 0011_mcp_instances
Revises: 0010_trigram_pending_list
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_mcp_instances"
down_revision = "0010_trigram_pending_list"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mcp_instances",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column(
            "config_id",
            sa.String(40),
            sa.ForeignKey("mcp_configs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("user_identifier", sa.String(255), nullable=False),
        sa.Column("key_hash", sa.String(80), nullable=False, unique=True),
        sa.Column("secret_ct", sa.Text, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("config_id", "user_identifier", "name"),
    )
    op.create_index(
        "ix_mcp_instances_env_user", "mcp_instances", ["environment_id", "user_identifier", "seq"]
    )
    op.create_index("ix_mcp_instances_env_seq", "mcp_instances", ["environment_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_mcp_instances_env_seq", table_name="mcp_instances")
    op.drop_index("ix_mcp_instances_env_user", table_name="mcp_instances")
    op.drop_table("mcp_instances")
