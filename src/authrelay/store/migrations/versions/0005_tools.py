"""tools: Scalekit-shaped tool definitions with authrelay's binding, per environment

Revision ID: 0005_tools
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_tools"
down_revision = "0004_lists"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tools",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("provider_identifier", sa.String(200), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("binding", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("environment_id", "name"),
    )
    op.create_index("ix_tools_provider", "tools", ["environment_id", "provider_identifier"])


def downgrade() -> None:
    op.drop_index("ix_tools_provider", "tools")
    op.drop_table("tools")
