"""cache_state.accounts: a second generation, moved by changes to connected accounts only

Revision ID: 0008_account_generation
Revises: 0007_mcp
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_account_generation"
down_revision = "0007_mcp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cache_state", sa.Column("accounts", sa.BigInteger, nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("cache_state", "accounts")
