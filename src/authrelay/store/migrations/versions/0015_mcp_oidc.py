"""MCP sign-in through an OpenID Connect provider, and hand-off assertions as JWTs verified
against the team app's JWKS (docs/mcp-authorization.md)

Revision ID: 0015_mcp_oidc
Revises: 0014_tool_call_logs
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_mcp_oidc"
down_revision = "0014_tool_call_logs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mcp_oauth_settings") as batch:
        batch.add_column(sa.Column("handoff_jwks_url", sa.Text))
        batch.add_column(sa.Column("oidc_issuer", sa.Text))
        batch.add_column(sa.Column("oidc_client_id", sa.Text))
        batch.add_column(sa.Column("oidc_client_secret_ct", sa.Text))
        batch.add_column(sa.Column("oidc_identifier_claim", sa.String(64)))
    with op.batch_alter_table("mcp_oauth_requests") as batch:
        batch.add_column(sa.Column("oidc_ct", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("mcp_oauth_requests") as batch:
        batch.drop_column("oidc_ct")
    with op.batch_alter_table("mcp_oauth_settings") as batch:
        batch.drop_column("oidc_identifier_claim")
        batch.drop_column("oidc_client_secret_ct")
        batch.drop_column("oidc_client_id")
        batch.drop_column("oidc_issuer")
        batch.drop_column("handoff_jwks_url")
