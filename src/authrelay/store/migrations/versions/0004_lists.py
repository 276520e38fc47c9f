"""lists at scale: keyset indexes, maintained row counts, indexed substring search

Revision ID: 0004_lists
Revises: 0003

- Every list filter has an index ending in `seq`, the keyset order, so a page is a range
  read wherever it starts.
- `row_counts` holds the number of providers and connected accounts per environment and of
  accounts per connection, kept by triggers in the transaction that inserts or deletes the
  row; `total_size` reads it instead of counting.
- Substring search on account identifiers: an FTS5 trigram index on SQLite; a pg_trgm GIN
  index on `lower(identifier)` on PostgreSQL. When the extension cannot be created (no
  privilege, not installed) the migration goes on without that index and search still
  answers, by scanning (docs/api.md, "Lists at scale").
"""

# ruff: noqa: S608  (trigger bodies are built from this file's constants only, no input)

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0004_lists"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXES = [
    ("ix_providers_env_seq", "providers", ["environment_id", "seq"]),
    ("ix_accounts_env_seq", "connected_accounts", ["environment_id", "seq"]),
    ("ix_accounts_conn_seq", "connected_accounts", ["connection_id", "seq"]),
    ("ix_accounts_env_identifier", "connected_accounts", ["environment_id", "identifier", "seq"]),
    ("ix_accounts_env_org", "connected_accounts", ["environment_id", "organization_id", "seq"]),
    ("ix_accounts_env_user", "connected_accounts", ["environment_id", "user_id", "seq"]),
]
_REPLACED = [
    ("ix_connected_accounts_environment_id", "connected_accounts", ["environment_id"]),
    ("ix_connected_accounts_connection_id", "connected_accounts", ["connection_id"]),
]

_BACKFILL = [
    "INSERT INTO row_counts (resource, scope, n) SELECT 'providers', environment_id, COUNT(*) "
    "FROM providers GROUP BY environment_id",
    "INSERT INTO row_counts (resource, scope, n) SELECT 'accounts', environment_id, COUNT(*) "
    "FROM connected_accounts GROUP BY environment_id",
    "INSERT INTO row_counts (resource, scope, n) SELECT 'accounts_conn', connection_id, COUNT(*) "
    "FROM connected_accounts GROUP BY connection_id",
]


# The trigger bodies below are built from the constants of this file only (no input).
def _plus(resource: str, scope: str) -> str:
    return (
        f"INSERT INTO row_counts (resource, scope, n) VALUES ('{resource}', {scope}, 1) "
        "ON CONFLICT (resource, scope) DO UPDATE SET n = row_counts.n + 1;"
    )


def _minus(resource: str, scope: str) -> str:
    return f"UPDATE row_counts SET n = n - 1 WHERE resource = '{resource}' AND scope = {scope};"


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE TRIGGER tr_providers_count_ins AFTER INSERT ON providers BEGIN "
        + _plus("providers", "NEW.environment_id")
        + " END"
    )
    op.execute(
        "CREATE TRIGGER tr_providers_count_del AFTER DELETE ON providers BEGIN "
        + _minus("providers", "OLD.environment_id")
        + " END"
    )
    op.execute(
        "CREATE VIRTUAL TABLE connected_accounts_fts USING fts5(identifier, "
        "content='connected_accounts', content_rowid='seq', tokenize='trigram')"
    )
    op.execute("INSERT INTO connected_accounts_fts (connected_accounts_fts) VALUES ('rebuild')")
    op.execute(
        "CREATE TRIGGER tr_accounts_ins AFTER INSERT ON connected_accounts BEGIN "
        + _plus("accounts", "NEW.environment_id")
        + _plus("accounts_conn", "NEW.connection_id")
        + " INSERT INTO connected_accounts_fts (rowid, identifier)"
        " VALUES (NEW.seq, NEW.identifier); END"
    )
    op.execute(
        "CREATE TRIGGER tr_accounts_del AFTER DELETE ON connected_accounts BEGIN "
        + _minus("accounts", "OLD.environment_id")
        + _minus("accounts_conn", "OLD.connection_id")
        + " INSERT INTO connected_accounts_fts (connected_accounts_fts, rowid, identifier)"
        " VALUES ('delete', OLD.seq, OLD.identifier); END"
    )
    op.execute(
        "CREATE TRIGGER tr_accounts_upd AFTER UPDATE OF identifier ON connected_accounts BEGIN "
        "INSERT INTO connected_accounts_fts (connected_accounts_fts, rowid, identifier)"
        " VALUES ('delete', OLD.seq, OLD.identifier);"
        " INSERT INTO connected_accounts_fts (rowid, identifier)"
        " VALUES (NEW.seq, NEW.identifier); END"
    )


def _pg_add(resource: str, column: str) -> str:
    return (
        f"INSERT INTO row_counts (resource, scope, n) SELECT '{resource}', {column}, COUNT(*) "
        f"FROM changed GROUP BY {column} ORDER BY {column} "
        "ON CONFLICT (resource, scope) DO UPDATE SET n = row_counts.n + EXCLUDED.n;"
    )


def _pg_subtract(resource: str, column: str) -> str:
    return (
        f"UPDATE row_counts SET n = row_counts.n - gone.k FROM (SELECT {column} AS scope, "
        f"COUNT(*) AS k FROM changed GROUP BY {column}) AS gone "
        f"WHERE row_counts.resource = '{resource}' AND row_counts.scope = gone.scope;"
    )


def _pg_counter(table: str, name: str, parts: list[tuple[str, str]]) -> None:
    """Statement-level triggers over the transition table: one count update per statement
    and scope (a row-level trigger would update the same row once per row, which in one
    transaction of many rows grows a long chain of row versions on PostgreSQL)."""
    for op_name, alias, body in (
        ("INSERT", "NEW", "".join(_pg_add(r, c) for r, c in parts)),
        ("DELETE", "OLD", "".join(_pg_subtract(r, c) for r, c in parts)),
    ):
        function = f"authrelay_count_{name}_{op_name.lower()}"
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER tr_{name}_count_{op_name.lower()} AFTER {op_name} ON {table} "
            f"REFERENCING {alias} TABLE AS changed FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {function}()"
        )


def _postgres_upgrade() -> None:
    _pg_counter("providers", "providers", [("providers", "environment_id")])
    # The environment's row first, then the connections': every writer locks them in the
    # same order (no deadlocks between concurrent inserts and deletes).
    _pg_counter(
        "connected_accounts",
        "accounts",
        [("accounts", "environment_id"), ("accounts_conn", "connection_id")],
    )
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            bind.execute(
                sa.text(
                    "CREATE INDEX ix_accounts_identifier_trgm ON connected_accounts "
                    "USING gin (lower(identifier) gin_trgm_ops)"
                )
            )
    except DBAPIError:
        pass  # search works without it, by scanning (documented)


def upgrade() -> None:
    for name, table, _columns in _REPLACED:
        op.drop_index(name, table_name=table)
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "row_counts",
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    for statement in _BACKFILL:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        _postgres_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_accounts_identifier_trgm")
        for table, name in (("connected_accounts", "accounts"), ("providers", "providers")):
            for kind in ("insert", "delete"):
                op.execute(f"DROP TRIGGER tr_{name}_count_{kind} ON {table}")
                op.execute(f"DROP FUNCTION authrelay_count_{name}_{kind}()")
    else:
        for trigger in (
            "tr_accounts_upd",
            "tr_accounts_del",
            "tr_accounts_ins",
            "tr_providers_count_del",
            "tr_providers_count_ins",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE connected_accounts_fts")
    op.drop_table("row_counts")
    for name, table, _columns in _INDEXES:
        op.drop_index(name, table_name=table)
    for name, table, columns in _REPLACED:
        op.create_index(name, table, columns)
