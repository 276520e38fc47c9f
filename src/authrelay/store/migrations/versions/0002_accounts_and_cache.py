"""connected accounts: owner ids and public details; cache generation for invalidation

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connected_accounts") as batch:
        batch.add_column(sa.Column("organization_id", sa.String(255)))
        batch.add_column(sa.Column("user_id", sa.String(255)))
        batch.add_column(sa.Column("details", sa.JSON, nullable=False, server_default="{}"))
    op.create_table(
        "cache_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO cache_state (id, generation) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("cache_state")
    with op.batch_alter_table("connected_accounts") as batch:
        batch.drop_column("details")
        batch.drop_column("user_id")
        batch.drop_column("organization_id")
