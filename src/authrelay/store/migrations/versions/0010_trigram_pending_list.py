"""PostgreSQL: a short pending list for the identifier trigram index

A GIN index collects new entries in an unsorted pending list (up to 4 MB by default) until a
vacuum or a full list merges them, and every search reads the whole list. After many new
accounts a substring search read ~4 MB of it: 1.9 ms per candidate query at 100,000
accounts against 0.07 ms once merged, the search pages 1.5-1.6x slower than at 1,000
accounts. At 256 kB the list costs a search ~0.1 ms, and inserts still batch their index
work (measured: 15.5 against 20 us per row in bulk inserts).

Revision ID: 0010_trigram_pending_list
Revises: 0009_audit_indexes
"""

from alembic import op

revision = "0010_trigram_pending_list"
down_revision = "0009_audit_indexes"
branch_labels = None
depends_on = None

INDEX = "ix_accounts_identifier_trgm"  # created by 0004_lists when pg_trgm is available


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX IF EXISTS {INDEX} SET (gin_pending_list_limit = 256)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX IF EXISTS {INDEX} RESET (gin_pending_list_limit)")
