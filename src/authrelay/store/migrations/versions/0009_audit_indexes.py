"""audit_log: an index per filter (resource, resource type, actor, action), in log order

Revision ID: 0009_audit_indexes
Revises: 0008_account_generation
"""

from alembic import op

revision = "0009_audit_indexes"
down_revision = "0008_account_generation"
branch_labels = None
depends_on = None

FILTERS = ("resource_id", "resource_type", "actor", "action")


def upgrade() -> None:
    for column in FILTERS:
        op.create_index(
            f"ix_audit_log_env_{column}_seq", "audit_log", ["environment_id", column, "seq"]
        )


def downgrade() -> None:
    for column in FILTERS:
        op.drop_index(f"ix_audit_log_env_{column}_seq", table_name="audit_log")
