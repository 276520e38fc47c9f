"""Tables. Every resource row belongs to one environment; secrets live only in *_ct columns
(vault ciphertexts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Environment(Base):
    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_ct: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Provider(Base):
    """A custom provider. Built-ins live in package data, not here."""

    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("environment_id", "identifier"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    identifier: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Connection(Base):
    """A provider enabled in an environment under a connection name (`key_id` on the wire)."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    name: Mapped[str] = mapped_column(String(200))
    provider_identifier: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_ct: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("ix_connections_provider", Connection.environment_id, Connection.provider_identifier)


class ConnectedAccount(Base):
    """One end user's credentials for one connection."""

    __tablename__ = "connected_accounts"
    __table_args__ = (UniqueConstraint("connection_id", "identifier"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"))
    identifier: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    authorization_type: Mapped[str] = mapped_column(String(32))
    secret_ct: Mapped[str | None] = mapped_column(Text)
    # `details` holds the non-secret inputs (domain, version, path parameters);
    # every secret lives only in `secret_ct`.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # OAuth: grows with every token change; the refresh lease makes one process refresh.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    refresh_lease_owner: Mapped[str | None] = mapped_column(String(64))
    refresh_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Every list filter ends in `seq`, the keyset order (migration 0004_lists).
Index("ix_providers_env_seq", Provider.environment_id, Provider.seq)
Index("ix_accounts_env_seq", ConnectedAccount.environment_id, ConnectedAccount.seq)
Index("ix_accounts_conn_seq", ConnectedAccount.connection_id, ConnectedAccount.seq)
Index(
    "ix_accounts_env_identifier",
    ConnectedAccount.environment_id,
    ConnectedAccount.identifier,
    ConnectedAccount.seq,
)
Index(
    "ix_accounts_env_org",
    ConnectedAccount.environment_id,
    ConnectedAccount.organization_id,
    ConnectedAccount.seq,
)
Index(
    "ix_accounts_env_user",
    ConnectedAccount.environment_id,
    ConnectedAccount.user_id,
    ConnectedAccount.seq,
)


class RowCount(Base):
    """Rows per scope, kept by database triggers (migration 0004_lists) in the transaction
    that inserts or deletes the row: `providers` and `accounts` per environment id,
    `accounts_conn` per connection id."""

    __tablename__ = "row_counts"

    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class AuthFlow(Base):
    """One authorization link and what happens after it is opened (SPEC §7).

    Only hashes of the link token, the OAuth state and the CSRF token are stored; the PKCE
    verifier and tokens awaiting user verification live encrypted in `secret_ct`.
    """

    __tablename__ = "auth_flows"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    caller_state: Mapped[str | None] = mapped_column(Text)
    user_verify_url: Mapped[str | None] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text)  # a flow started by the MCP consent page
    secret_ct: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who changed what: before/after hold public definitions only, never secrets."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Each filter of the audit log (API and dashboard) reads its own range, newest first.
for _column in ("resource_id", "resource_type", "actor", "action"):
    Index(
        f"ix_audit_log_env_{_column}_seq",
        AuditEntry.environment_id,
        getattr(AuditEntry, _column),
        AuditEntry.seq,
    )


class CacheState(Base):
    """One row of two generations: `generation` grows with every change of configuration
    the per-process caches depend on (providers, connections, API clients, hosts, tools, MCP
    configs), `accounts` with every change of connected accounts (store/cache.py)."""

    __tablename__ = "cache_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)
    accounts: Mapped[int] = mapped_column(BigInteger, server_default="0")


class Tool(Base):
    """A tool (SPEC §9): Scalekit's public shape in `definition`/`metadata`/`tags`, and
    authrelay's private `binding` (how to call the provider's API for it)."""

    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    provider_identifier: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    binding: Mapped[dict[str, Any]] = mapped_column(JSON)
    tool_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16))  # api, file, openapi
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("ix_tools_provider", Tool.environment_id, Tool.provider_identifier)


class McpConfig(Base):
    """An MCP configuration (SPEC §9, Scalekit's `mcpMcpConfig`): the connections (and
    optionally which of their tools) one MCP server URL serves."""

    __tablename__ = "mcp_configs"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    access_level: Mapped[str] = mapped_column(String(16), default="FULL")
    # [{"connection_name": str, "tools": [str, ...]}]; empty tools = all of the provider's
    mappings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class McpInstance(Base):
    """A named per-user instance of an MCP config (Scalekit's `mcpMcpInstance`): the config's
    tools as `user_identifier`, at a pre-authenticated URL whose key is kept hashed
    (`key_hash`, for look-ups) and sealed (`secret_ct`, to show the URL again)."""

    __tablename__ = "mcp_instances"
    __table_args__ = (
        UniqueConstraint("config_id", "user_identifier", "name"),
        Index("ix_mcp_instances_env_user", "environment_id", "user_identifier", "seq"),
        Index("ix_mcp_instances_env_seq", "environment_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    config_id: Mapped[str] = mapped_column(ForeignKey("mcp_configs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    user_identifier: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(80), unique=True)
    secret_ct: Mapped[str] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---------------------------------------------------------------------------- dashboard
# Its users, their sessions, and failed sign-in counters (docs/dashboard.md).


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AdminSession(Base):
    """A signed-in browser. Only a hash of the cookie's token is stored."""

    __tablename__ = "admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigninFailures(Base):
    """Failed sign-ins in the current window, per account ("email:...") or address ("ip:...")."""

    __tablename__ = "signin_failures"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------------------- MCP authorization
# authrelay as the MCP endpoints' OAuth authorization server (docs/mcp-authorization.md).


class McpOAuthSettings(Base):
    """One environment's MCP sign-in settings: the team's login hand-off and which kinds of
    client registration are open."""

    __tablename__ = "mcp_oauth_settings"

    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), primary_key=True)
    handoff_url: Mapped[str | None] = mapped_column(Text)
    handoff_secret_ct: Mapped[str | None] = mapped_column(Text)
    dcr_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cimd_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # hand-off assertions may also be JWTs signed with a key of the app's JWKS
    handoff_jwks_url: Mapped[str | None] = mapped_column(Text)
    # or the users sign in with an OpenID Connect provider (instead of the hand-off)
    oidc_issuer: Mapped[str | None] = mapped_column(Text)
    oidc_client_id: Mapped[str | None] = mapped_column(Text)
    oidc_client_secret_ct: Mapped[str | None] = mapped_column(Text)
    oidc_identifier_claim: Mapped[str | None] = mapped_column(String(64))


class McpOAuthClient(Base):
    """An OAuth client of the MCP authorization server: registered dynamically, known by its
    client ID metadata document (`id` is then the document's URL), or pre-registered."""

    __tablename__ = "mcp_oauth_clients"
    __table_args__ = (UniqueConstraint("environment_id", "client_id"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    client_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    logo_uri: Mapped[str | None] = mapped_column(Text)  # https only; shown on the consent page
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class McpOAuthRequest(Base):
    """An authorization in progress: what the client asked for, then who signed in and the
    hash of the code issued for it (`status`: handoff → consent → code → used, or denied).
    `csrf_hash`: the consent form's token (its cookie's); `grant_id`: the grant it issues."""

    __tablename__ = "mcp_oauth_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    client_id: Mapped[str] = mapped_column(String(512))
    redirect_uri: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    resource: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    identifier: Mapped[str | None] = mapped_column(String(255))
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    grant_id: Mapped[str | None] = mapped_column(String(40))
    # sign-in through an OpenID Connect provider: its PKCE verifier and nonce, encrypted
    oidc_ct: Mapped[str | None] = mapped_column(Text)


class McpOAuthRefreshToken(Base):
    """A refresh token (its SHA-256 only). One family per sign-in: each use marks the token
    used and adds the next; a used one presented again revokes the family."""

    __tablename__ = "mcp_oauth_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    client_id: Mapped[str] = mapped_column(String(512))
    identifier: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    grant_id: Mapped[str | None] = mapped_column(String(40), index=True)


class McpOAuthGrant(Base):
    """What a user allowed an MCP client: `identifier`'s accounts behind one MCP config.
    `consented`: a digest of what the consent page showed (config, its connections, scope),
    so an unchanged consent can skip the page. Revoked grants are kept (audit, listing)."""

    __tablename__ = "mcp_oauth_grants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    client_id: Mapped[str] = mapped_column(String(512))
    identifier: Mapped[str] = mapped_column(String(255))
    config_id: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(Text, default="")
    consented: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_mcp_oauth_grants_user", McpOAuthGrant.environment_id, McpOAuthGrant.identifier)


class ToolCallLog(Base):
    """One tool call (`execute_tool`, MCP `tools/call`, gRPC `ExecuteTool`): who called which
    tool on whose account, how it ended and how long it took. Never the tool's inputs or
    outputs; `error_message` is the message the caller was answered (authrelay's own, never
    the upstream's body). Written in batches off the request path (tools/call_log.py)."""

    __tablename__ = "tool_call_logs"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"))
    # the message's `id` is derived from it (tcl_…), not stored: one unique index less
    execution_id: Mapped[str] = mapped_column(String(40), unique=True)
    agent_run_id: Mapped[str] = mapped_column(String(200), default="")
    tool_name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    connection_id: Mapped[str] = mapped_column(String(40), default="")
    connection_name: Mapped[str] = mapped_column(String(200), default="")
    connected_account_id: Mapped[str] = mapped_column(String(40), default="")
    identifier: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[str] = mapped_column(String(200), default="")
    organization_id: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    error_tier: Mapped[str] = mapped_column(String(16), default="")
    error_code: Mapped[str] = mapped_column(String(32), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    upstream_status: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Lists read an environment's calls newest first; retention deletes by time.
Index("ix_tool_call_logs_env_started", ToolCallLog.environment_id, ToolCallLog.started_at)
Index("ix_tool_call_logs_started", ToolCallLog.started_at)
