"""`client.providers`, `client.connections`, `client.connected_accounts` (sync and async).

The method bodies are one line each: the request is built and the answer parsed in
`_ops.py`; the client sends it (with token renewal) and follows pages.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from authrelay_client import _ops as ops
from authrelay_client.models import (
    ConnectedAccount,
    Connection,
    Provider,
    ProviderDefinition,
    ToggleConnectionResponse,
)
from authrelay_client.wire import (
    AccountFilters,
    AuthorizationDetailsInput,
    ConnectionOAuthConfigInput,
    JSONObject,
    ScopeSelectionInput,
)

if TYPE_CHECKING:
    from authrelay_client._client import AsyncClient, Client

Definition = Mapping[str, Any] | ProviderDefinition | Provider


def _account_filters(
    connector: str | None,
    identifier: str | None,
    provider: str | None,
    query: str | None,
    connection_names: list[str] | None,
    organization_id: str | None,
    user_id: str | None,
) -> AccountFilters:
    return {
        "connector": connector,
        "identifier": identifier,
        "provider": provider,
        "query": query,
        "connection_names": connection_names or None,
        "organization_id": organization_id,
        "user_id": user_id,
    }


class Providers:
    """Providers of the environment: built-in (`DEFAULT`) and custom ones."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self,
        type: str = "all",
        identifier: str | None = None,
        *,
        page_size: int = ops.PROVIDER_PAGE_SIZE,
    ) -> builtins.list[Provider]:
        """Every provider of that type (all pages), built-in ones first."""
        return self._client._collect(
            ops.providers_page(self._client.env_url, type, identifier, page_size)
        )

    def get(self, name_or_identifier: str) -> Provider:
        """The provider with that identifier, else that display name (case-insensitive);
        `NotFoundError` when there is none."""
        return ops.find_provider(self.list("all"), name_or_identifier)

    def create(self, definition: Definition) -> Provider:
        """Create a custom provider; `AlreadyExistsError` when its identifier is taken."""
        return self._client._run(ops.create_provider(self._client.env_url, definition))

    def update(self, identifier: str, definition: Definition, etag: str | None = None) -> Provider:
        """Replace a custom provider's definition; with `etag`, only if it is still current
        (`FailedPreconditionError` otherwise)."""
        return self._client._run(
            ops.update_provider(self._client.env_url, identifier, definition, etag)
        )

    def delete(self, identifier: str, etag: str | None = None) -> None:
        """Delete a custom provider; `FailedPreconditionError` while connections use it."""
        self._client._run(ops.delete_provider(self._client.env_url, identifier, etag))


class Connections:
    """App connections (`key_id` is the connection name)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        provider_key: str,
        key_id: str | None = None,
        type: str | int | None = None,
        oauth_config: ConnectionOAuthConfigInput | None = None,
        *,
        auth_mode: str | None = None,
        enabled: bool | None = None,
        static_config: JSONObject | None = None,
    ) -> Connection:
        """Create a connection to provider `provider_key` named `key_id` (default: the
        provider identifier)."""
        return self._client._run(
            ops.create_connection(
                self._client.env_url,
                provider_key,
                key_id,
                type,
                oauth_config,
                auth_mode,
                enabled,
                static_config,
            )
        )

    def list(
        self,
        provider: str | None = None,
        query: str | None = None,
        *,
        page_size: int = ops.CONNECTION_PAGE_SIZE,
    ) -> builtins.list[Connection]:
        """Every connection (all pages), ordered by name."""
        return self._client._collect(
            ops.connections_page(self._client.env_url, provider, query, page_size)
        )

    def get(self, id_or_name: str) -> Connection:
        return self._client._run(ops.get_connection(self._client.env_url, id_or_name))

    def update(self, id_or_name: str, **fields: Any) -> Connection:
        """Change the fields given (e.g. `oauth_config={...}`, `enabled=False`)."""
        return self._client._run(ops.update_connection(self._client.env_url, id_or_name, fields))

    def delete(self, id_or_name: str, force: bool = False) -> None:
        """Delete; with connected accounts only when `force` (which deletes them too)."""
        self._client._run(ops.delete_connection(self._client.env_url, id_or_name, force))

    def enable(self, id_or_name: str) -> ToggleConnectionResponse:
        return self._client._run(ops.toggle_connection(self._client.env_url, id_or_name, True))

    def disable(self, id_or_name: str) -> ToggleConnectionResponse:
        return self._client._run(ops.toggle_connection(self._client.env_url, id_or_name, False))


class ConnectedAccounts:
    """Connected accounts: one user's credentials for one connection."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self,
        connector: str | None = None,
        identifier: str | None = None,
        provider: str | None = None,
        *,
        query: str | None = None,
        connection_names: builtins.list[str] | None = None,
        organization_id: str | None = None,
        user_id: str | None = None,
        page_size: int = ops.ACCOUNT_PAGE_SIZE,
    ) -> builtins.list[ConnectedAccount]:
        """Every matching account (all pages), without credentials."""
        filters = _account_filters(
            connector, identifier, provider, query, connection_names, organization_id, user_id
        )
        return self._client._collect(ops.accounts_page(self._client.env_url, filters, page_size))

    def get(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> ConnectedAccount:
        """The account's details, without credential values."""
        return self._client._run(
            ops.account_lookup(self._client.env_url, "details", connector, identifier, id)
        )

    def get_auth(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> ConnectedAccount:
        """The account **with** its credential values (audit-logged)."""
        return self._client._run(
            ops.account_lookup(self._client.env_url, "auth", connector, identifier, id)
        )

    def create(
        self,
        connector: str,
        identifier: str,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
        *,
        organization_id: str | None = None,
        user_id: str | None = None,
    ) -> ConnectedAccount:
        """Create an account; OAuth accounts without tokens start as `PENDING_AUTH`."""
        body = ops.account_body(
            connector,
            identifier,
            authorization_details,
            api_config,
            organization_id=organization_id,
            user_id=user_id,
        )
        return self._client._run(ops.create_account(self._client.env_url, body))

    def update(
        self,
        connector: str | None = None,
        identifier: str | None = None,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
        *,
        id: str | None = None,
        scope_selection: ScopeSelectionInput | None = None,
    ) -> ConnectedAccount:
        """Change what is given: credentials replace, `api_config` merges by key."""
        body = ops.account_body(
            connector,
            identifier,
            authorization_details,
            api_config,
            id=id,
            scope_selection=scope_selection,
        )
        return self._client._run(ops.update_account(self._client.env_url, body))

    def delete(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> None:
        body = ops.account_body(connector, identifier, id=id)
        self._client._run(ops.delete_account(self._client.env_url, body))

    def disconnect(self, id: str) -> ConnectedAccount:
        """Erase the account's credentials; its status becomes `DISCONNECTED`."""
        return self._client._run(ops.disconnect_account(self._client.env_url, id))


class AsyncProviders:
    """The async form of `Providers`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self,
        type: str = "all",
        identifier: str | None = None,
        *,
        page_size: int = ops.PROVIDER_PAGE_SIZE,
    ) -> builtins.list[Provider]:
        return await self._client._collect(
            ops.providers_page(self._client.env_url, type, identifier, page_size)
        )

    async def get(self, name_or_identifier: str) -> Provider:
        return ops.find_provider(await self.list("all"), name_or_identifier)

    async def create(self, definition: Definition) -> Provider:
        return await self._client._run(ops.create_provider(self._client.env_url, definition))

    async def update(
        self, identifier: str, definition: Definition, etag: str | None = None
    ) -> Provider:
        return await self._client._run(
            ops.update_provider(self._client.env_url, identifier, definition, etag)
        )

    async def delete(self, identifier: str, etag: str | None = None) -> None:
        await self._client._run(ops.delete_provider(self._client.env_url, identifier, etag))


class AsyncConnections:
    """The async form of `Connections`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        provider_key: str,
        key_id: str | None = None,
        type: str | int | None = None,
        oauth_config: ConnectionOAuthConfigInput | None = None,
        *,
        auth_mode: str | None = None,
        enabled: bool | None = None,
        static_config: JSONObject | None = None,
    ) -> Connection:
        return await self._client._run(
            ops.create_connection(
                self._client.env_url,
                provider_key,
                key_id,
                type,
                oauth_config,
                auth_mode,
                enabled,
                static_config,
            )
        )

    async def list(
        self,
        provider: str | None = None,
        query: str | None = None,
        *,
        page_size: int = ops.CONNECTION_PAGE_SIZE,
    ) -> builtins.list[Connection]:
        return await self._client._collect(
            ops.connections_page(self._client.env_url, provider, query, page_size)
        )

    async def get(self, id_or_name: str) -> Connection:
        return await self._client._run(ops.get_connection(self._client.env_url, id_or_name))

    async def update(self, id_or_name: str, **fields: Any) -> Connection:
        return await self._client._run(
            ops.update_connection(self._client.env_url, id_or_name, fields)
        )

    async def delete(self, id_or_name: str, force: bool = False) -> None:
        await self._client._run(ops.delete_connection(self._client.env_url, id_or_name, force))

    async def enable(self, id_or_name: str) -> ToggleConnectionResponse:
        return await self._client._run(
            ops.toggle_connection(self._client.env_url, id_or_name, True)
        )

    async def disable(self, id_or_name: str) -> ToggleConnectionResponse:
        return await self._client._run(
            ops.toggle_connection(self._client.env_url, id_or_name, False)
        )


class AsyncConnectedAccounts:
    """The async form of `ConnectedAccounts`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self,
        connector: str | None = None,
        identifier: str | None = None,
        provider: str | None = None,
        *,
        query: str | None = None,
        connection_names: builtins.list[str] | None = None,
        organization_id: str | None = None,
        user_id: str | None = None,
        page_size: int = ops.ACCOUNT_PAGE_SIZE,
    ) -> builtins.list[ConnectedAccount]:
        filters = _account_filters(
            connector, identifier, provider, query, connection_names, organization_id, user_id
        )
        return await self._client._collect(
            ops.accounts_page(self._client.env_url, filters, page_size)
        )

    async def get(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> ConnectedAccount:
        return await self._client._run(
            ops.account_lookup(self._client.env_url, "details", connector, identifier, id)
        )

    async def get_auth(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> ConnectedAccount:
        return await self._client._run(
            ops.account_lookup(self._client.env_url, "auth", connector, identifier, id)
        )

    async def create(
        self,
        connector: str,
        identifier: str,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
        *,
        organization_id: str | None = None,
        user_id: str | None = None,
    ) -> ConnectedAccount:
        body = ops.account_body(
            connector,
            identifier,
            authorization_details,
            api_config,
            organization_id=organization_id,
            user_id=user_id,
        )
        return await self._client._run(ops.create_account(self._client.env_url, body))

    async def update(
        self,
        connector: str | None = None,
        identifier: str | None = None,
        authorization_details: AuthorizationDetailsInput | None = None,
        api_config: JSONObject | None = None,
        *,
        id: str | None = None,
        scope_selection: ScopeSelectionInput | None = None,
    ) -> ConnectedAccount:
        body = ops.account_body(
            connector,
            identifier,
            authorization_details,
            api_config,
            id=id,
            scope_selection=scope_selection,
        )
        return await self._client._run(ops.update_account(self._client.env_url, body))

    async def delete(
        self, connector: str | None = None, identifier: str | None = None, *, id: str | None = None
    ) -> None:
        body = ops.account_body(connector, identifier, id=id)
        await self._client._run(ops.delete_account(self._client.env_url, body))

    async def disconnect(self, id: str) -> ConnectedAccount:
        return await self._client._run(ops.disconnect_account(self._client.env_url, id))
