"""initial schema: environments, API clients, signing keys, providers, connections,
connected accounts, audit log

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("host", sa.String(255), unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_api_clients_environment_id", "api_clients", ["environment_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_key_ct", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "providers",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("environment_id", "identifier"),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_identifier", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("secret_ct", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("environment_id", "name"),
    )
    op.create_index(
        "ix_connections_provider", "connections", ["environment_id", "provider_identifier"]
    )
    op.create_table(
        "connected_accounts",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("connection_id", sa.String(40), sa.ForeignKey("connections.id"), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("authorization_type", sa.String(32), nullable=False),
        sa.Column("secret_ct", sa.Text),
        sa.Column("api_config", sa.JSON, nullable=False),
        sa.Column("token_expires_at", TS),
        sa.Column("last_used_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("connection_id", "identifier"),
    )
    op.create_index(
        "ix_connected_accounts_environment_id", "connected_accounts", ["environment_id"]
    )
    op.create_index("ix_connected_accounts_connection_id", "connected_accounts", ["connection_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "environment_id", sa.String(40), sa.ForeignKey("environments.id"), nullable=False
        ),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_audit_log_environment_id", "audit_log", ["environment_id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "connected_accounts",
        "connections",
        "providers",
        "signing_keys",
        "api_clients",
        "environments",
    ):
        op.drop_table(table)
