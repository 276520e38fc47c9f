"""authorization links and flows; token versions and refresh leases on accounts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("connected_accounts") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("refresh_lease_owner", sa.String(64)))
        batch.add_column(sa.Column("refresh_lease_until", TS))
    op.create_table(
        "auth_flows",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("link_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("state_hash", sa.String(64), unique=True),
        sa.Column("csrf_hash", sa.String(64)),
        sa.Column("caller_state", sa.Text),
        sa.Column("user_verify_url", sa.Text),
        sa.Column("secret_ct", sa.Text),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("opened_at", TS),
        sa.Column("completed_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_auth_flows_account_id", "auth_flows", ["account_id"])


def downgrade() -> None:
    op.drop_table("auth_flows")
    with op.batch_alter_table("connected_accounts") as batch:
        batch.drop_column("refresh_lease_until")
        batch.drop_column("refresh_lease_owner")
        batch.drop_column("token_version")
