"""MCP authorization server: per-environment sign-in settings, OAuth clients, authorizations
in progress and refresh tokens (docs/mcp-authorization.md)

Revision ID: 0012_mcp_oauth
Revises: 0011_mcp_instances
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_mcp_oauth"
down_revision = "0011_mcp_instances"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _env() -> sa.Column[str]:
    return sa.Column(
        "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "mcp_oauth_settings",
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), primary_key=True
        ),
        sa.Column("handoff_url", sa.Text),
        sa.Column("handoff_secret_ct", sa.Text),
        sa.Column("dcr_enabled", sa.Boolean, nullable=False),
        sa.Column("cimd_enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "mcp_oauth_clients",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        _env(),
        sa.Column("client_id", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("fetched_at", TS),
        sa.UniqueConstraint("environment_id", "client_id"),
    )
    op.create_table(
        "mcp_oauth_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        _env(),
        sa.Column("client_id", sa.String(512), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("identifier", sa.String(255)),
        sa.Column("code_hash", sa.String(64), unique=True),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_mcp_oauth_requests_expires_at", "mcp_oauth_requests", ["expires_at"])
    op.create_table(
        "mcp_oauth_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(64), nullable=False),
        _env(),
        sa.Column("client_id", sa.String(512), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index(
        "ix_mcp_oauth_refresh_tokens_family_id", "mcp_oauth_refresh_tokens", ["family_id"]
    )
    op.create_index(
        "ix_mcp_oauth_refresh_tokens_expires_at", "mcp_oauth_refresh_tokens", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("mcp_oauth_refresh_tokens")
    op.drop_table("mcp_oauth_requests")
    op.drop_table("mcp_oauth_clients")
    op.drop_table("mcp_oauth_settings")
