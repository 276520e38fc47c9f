"""The vault's contexts: the associated data that binds each ciphertext to its row and column,
so a ciphertext cannot be moved to another row or column. The one definition that writers,
readers and key rotation (`store.encrypted`) share.
"""

from __future__ import annotations


def signing_key_context(kid: str) -> str:
    """The API token signing key's private PEM (`signing_keys.private_key_ct`)."""
    return f"signing_key:{kid}"


def connection_context(connection_id: str) -> str:
    """A connection's OAuth client secret (`connections.secret_ct`)."""
    return f"connection:{connection_id}:client_secret"


def account_context(account_id: str) -> str:
    """A connected account's credentials blob (`connected_accounts.secret_ct`)."""
    return f"account:{account_id}:credentials"


def flow_context(flow_id: str) -> str:
    """An authorization in progress: PKCE verifier, values, pending tokens (`auth_flows`)."""
    return f"flow:{flow_id}"


def mcp_instance_context(instance_id: str) -> str:
    """The key of an MCP instance's pre-authenticated URL (`mcp_instances.secret_ct`)."""
    return f"mcp_instance:{instance_id}:url_key"


def handoff_context(environment_id: str) -> str:
    """An environment's login hand-off secret (`mcp_oauth_settings.handoff_secret_ct`)."""
    return f"mcp_handoff:{environment_id}"


def oidc_client_context(environment_id: str) -> str:
    """An environment's OpenID Connect client secret
    (`mcp_oauth_settings.oidc_client_secret_ct`)."""
    return f"mcp_oidc_client:{environment_id}"


def oidc_request_context(request_id: str) -> str:
    """An MCP sign-in's PKCE verifier and nonce at its OpenID Connect provider
    (`mcp_oauth_requests.oidc_ct`)."""
    return f"mcp_oidc_request:{request_id}"
