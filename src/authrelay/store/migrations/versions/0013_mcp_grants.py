"""MCP grants: what a user allowed an MCP client (consent), the consent step of an
authorization, and where a hosted connect flow returns (docs/mcp-authorization.md)

Revision ID: 0013_mcp_grants
Revises: 0012_mcp_oauth
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_mcp_grants"
down_revision = "0012_mcp_oauth"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mcp_oauth_grants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("client_id", sa.String(512), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("config_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.Text, nullable=False, server_default=""),
        sa.Column("consented", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_index(
        "ix_mcp_oauth_grants_user", "mcp_oauth_grants", ["environment_id", "identifier"]
    )
    with op.batch_alter_table("mcp_oauth_clients") as batch:
        batch.add_column(sa.Column("logo_uri", sa.Text))
    with op.batch_alter_table("mcp_oauth_requests") as batch:
        batch.add_column(sa.Column("csrf_hash", sa.String(64)))
        batch.add_column(sa.Column("grant_id", sa.String(40)))
    with op.batch_alter_table("mcp_oauth_refresh_tokens") as batch:
        batch.add_column(sa.Column("grant_id", sa.String(40)))
        batch.create_index("ix_mcp_oauth_refresh_tokens_grant_id", ["grant_id"])
    with op.batch_alter_table("auth_flows") as batch:
        batch.add_column(sa.Column("return_url", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("auth_flows") as batch:
        batch.drop_column("return_url")
    with op.batch_alter_table("mcp_oauth_refresh_tokens") as batch:
        batch.drop_index("ix_mcp_oauth_refresh_tokens_grant_id")
        batch.drop_column("grant_id")
    with op.batch_alter_table("mcp_oauth_requests") as batch:
        batch.drop_column("grant_id")
        batch.drop_column("csrf_hash")
    with op.batch_alter_table("mcp_oauth_clients") as batch:
        batch.drop_column("logo_uri")
    op.drop_index("ix_mcp_oauth_grants_user", "mcp_oauth_grants")
    op.drop_table("mcp_oauth_grants")
