"""Connected-account management (SPEC §6): create, update, delete, list, search, auth,
details, disconnect. Secrets are encrypted in one vault blob per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from authrelay.accounts.credentials import StaticInputs, validate_oauth_inputs, validate_static
from authrelay.accounts.model import (
    AccountBody,
    AccountRef,
    CreateAccountRequest,
    UpdateAccountRequest,
)
from authrelay.accounts.secrets import (
    AccountSecrets,
    decrypt_account_secrets,
    encrypt_account_secrets,
)
from authrelay.auth.principal import Principal
from authrelay.changes import Change, commit_change, record
from authrelay.context import ServiceContext
from authrelay.enums import AUTHORIZATION_TYPE
from authrelay.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from authrelay.pagination import bad_token, decode_cursor, encode_cursor, parse_page_size
from authrelay.providers.grants import uses_client_credentials
from authrelay.providers.service import ResolvedProvider, resolve_provider
from authrelay.providers.validation import parse_strict
from authrelay.store import AsyncSession, IntegrityError
from authrelay.store import accounts as store
from authrelay.store import connections as connection_store
from authrelay.store.db import as_utc, new_id, read_without_lock, utcnow
from authrelay.store.models import ConnectedAccount, Connection
from authrelay_client.providers.model import AuthPattern
from authrelay_client.wire import (
    AccountStatus,
    AuthorizationDetailsBody,
    AuthorizationType,
    ConnectedAccountBody,
    ConnectedAccountForListBody,
    ConnectedAccountResponse,
    ListConnectedAccountsResponse,
    OAuthTokenBody,
)

MAX_PAGE_SIZE = 100


def _ts(value: datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value else None


@dataclass
class Target:
    connection: Connection
    provider: ResolvedProvider
    pattern: AuthPattern


async def resolve_target(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, connector: str
) -> Target:
    connection = await connection_store.get(session, principal.environment_id, connector)
    if connection is None:
        raise NotFound(
            f"no connection named {connector!r} in this environment (connector is the "
            "connection name)"
        )
    provider = await resolve_provider(
        session, principal.environment_id, ctx.catalog, connection.provider_identifier
    )
    pattern = provider.pattern(connection.type) if provider else None
    if provider is None or pattern is None:
        raise FailedPrecondition(
            f"connection {connection.name!r} refers to provider "
            f"{connection.provider_identifier!r}, which no longer has a {connection.type} pattern"
        )
    return Target(connection, provider, pattern)


def _authorization_details(
    row: ConnectedAccount, ctx: ServiceContext, *, reveal: bool
) -> AuthorizationDetailsBody:
    secrets = decrypt_account_secrets(ctx.keyring, row.id, row.secret_ct) if reveal else {}
    if row.authorization_type == "OAUTH":
        token: OAuthTokenBody = {
            "scopes": row.details.get("scopes", []),
            "domain": row.details.get("domain", ""),
        }
        if reveal:
            token["access_token"] = secrets.get("access_token", "")
            token["refresh_token"] = secrets.get("refresh_token", "")
        if isinstance(row.details.get("fields"), dict):  # client credentials: the inputs
            fields = {**row.details["fields"], **secrets.get("values", {})}
            return {"oauth_token": token, "static_auth": {"details": fields}}
        if row.details.get("user_info"):
            # what the provider's user_info_uri answered at authorization (no secrets)
            token["user_info"] = row.details["user_info"]
        return {"oauth_token": token}
    details = {**row.details, **secrets.get("values", {})}
    return {"static_auth": {"details": details}}


def account_list_json(
    row: ConnectedAccount, connection: Connection, *, last_used: datetime | None = None
) -> ConnectedAccountForListBody:
    """The account as lists show it: no credentials, no api_config."""
    used = row.last_used_at
    if last_used is not None and (used is None or as_utc(used) < last_used):
        used = last_used
    data: ConnectedAccountForListBody = {
        "id": row.id,
        "identifier": row.identifier,
        "provider": connection.provider_identifier,
        "connector": connection.name,
        "connection_id": connection.id,
        "status": cast(AccountStatus, row.status),
        "authorization_type": cast(
            AuthorizationType,
            AUTHORIZATION_TYPE.get(row.authorization_type, row.authorization_type),
        ),
        "token_expires_at": _ts(row.token_expires_at),
        "updated_at": _ts(row.updated_at),
        "last_used_at": _ts(used),
        "is_org_wide_credential": False,
    }
    if row.organization_id:
        data["organization_id"] = row.organization_id
    if row.user_id:
        data["user_id"] = row.user_id
    return data


def account_json(
    row: ConnectedAccount,
    connection: Connection,
    ctx: ServiceContext,
    *,
    reveal: bool = False,
    last_used: datetime | None = None,
) -> ConnectedAccountBody:
    """The account with its authorization details (credential values only with `reveal`)."""
    return {
        **account_list_json(row, connection, last_used=last_used),
        "authorization_details": _authorization_details(row, ctx, reveal=reveal),
        "api_config": row.api_config,
    }


def _audit_view(row: ConnectedAccount, connection: Connection) -> dict[str, Any]:
    return {
        "identifier": row.identifier,
        "connector": connection.name,
        "status": row.status,
        "public_details": row.details,
    }


def _merged_static(
    row: ConnectedAccount, pattern: AuthPattern, details: dict[str, Any], ctx: ServiceContext
) -> dict[str, Any]:
    """An update changes only the fields it names (Scalekit's UpdateConnectedAccount): the
    stored values of the pattern's other fields are kept."""
    if row.secret_ct is None:
        return details
    stored = decrypt_account_secrets(ctx.keyring, row.id, row.secret_ct)
    known = {f.field_name for f in pattern.fields}
    merged: dict[str, Any] = {k: v for k, v in stored.get("values", {}).items() if k in known}
    merged.update({k: v for k, v in details.items() if k != "path_variables"})
    paths = details.get("path_variables")
    old_paths = {k: v for k, v in stored.get("path_variables", {}).items() if k in known}
    if isinstance(paths, dict):
        merged["path_variables"] = {**old_paths, **paths}
    elif paths is not None:
        merged["path_variables"] = paths  # reported by the validation
    elif old_paths:
        merged["path_variables"] = old_paths
    return merged


def _apply_credentials(
    row: ConnectedAccount,
    target: Target,
    body: AccountBody | None,
    ctx: ServiceContext,
    *,
    update: bool = False,
) -> None:
    """Validate and store the account's credentials and api_config; sets the status.

    On update, `api_config` is merged into the stored one (top-level keys), and credentials
    change only where given (Scalekit: "only included fields will be modified")."""
    body = body or AccountBody()
    api_config = {**(row.api_config or {}), **(body.api_config or {})}
    details = body.authorization_details
    kind = target.pattern.type
    if details is not None and details.oauth_token and details.static_auth:
        raise InvalidArgument.field(
            "connected_account.authorization_details", "give either oauth_token or static_auth"
        )
    if uses_client_credentials(target.pattern):
        if details is not None and details.oauth_token is not None:
            raise InvalidArgument.field(
                "connected_account.authorization_details.oauth_token",
                "this connection uses the client_credentials grant: authrelay fetches the "
                "tokens; send the pattern's fields in static_auth.details",
            )
        static = details.static_auth if details else None
        if static is not None or row.secret_ct is None:
            raw = static.details if static is not None else {}
            given = _merged_static(row, target.pattern, raw, ctx) if update else raw
            machine = validate_static(target.provider.definition, target.pattern, given)
            store_client_inputs(row, target.pattern, machine, ctx)
    elif kind == "OAUTH":
        if details is not None and details.static_auth is not None:
            raise InvalidArgument.field(
                "connected_account.authorization_details.static_auth",
                "this connection uses OAuth; import tokens with oauth_token",
            )
        token = details.oauth_token if details else None
        if token is not None:
            validate_oauth_inputs(target.provider.definition, target.pattern, api_config)
            previous = decrypt_account_secrets(
                ctx.keyring, row.id, row.secret_ct if update else None
            )
            old = row.details if update and row.secret_ct else {}
            secrets: AccountSecrets = {
                "access_token": token.access_token,
                "refresh_token": token.refresh_token
                if token.refresh_token is not None
                else previous.get("refresh_token", ""),
            }
            row.secret_ct = encrypt_account_secrets(ctx.keyring, row.id, secrets)
            row.details = {
                "scopes": token.scopes if token.scopes is not None else old.get("scopes", []),
                "domain": token.domain if token.domain is not None else old.get("domain", ""),
            }
            row.status = "ACTIVE"
            row.token_expires_at = None
            row.token_version = (row.token_version or 0) + 1  # the proxy reloads the token
        else:
            # without tokens (yet) only the values given are checked
            validate_oauth_inputs(
                target.provider.definition,
                target.pattern,
                api_config,
                require=row.secret_ct is not None,
            )
            if row.secret_ct is None:
                row.status = "PENDING_AUTH"
                row.details = {}
    else:
        if details is not None and details.oauth_token is not None:
            raise InvalidArgument.field(
                "connected_account.authorization_details.oauth_token",
                f"this connection uses {kind}; send static_auth.details",
            )
        static = details.static_auth if details else None
        if static is None:
            if row.secret_ct is None:
                raise InvalidArgument.field(
                    "connected_account.authorization_details.static_auth.details",
                    f"is required: the {kind} fields of the provider",
                )
        else:
            given = (
                _merged_static(row, target.pattern, static.details, ctx)
                if update
                else static.details
            )
            inputs: StaticInputs = validate_static(
                target.provider.definition, target.pattern, given
            )
            store_static_inputs(row, target.pattern, inputs, ctx)
            if kind == "TOKEN_EXCHANGE":
                row.token_expires_at = None  # new credentials: no token exchanged for them yet
    row.api_config = api_config
    row.authorization_type = kind


def store_static_inputs(
    row: ConnectedAccount, pattern: AuthPattern, inputs: StaticInputs, ctx: ServiceContext
) -> None:
    """A static account's (validated) inputs, kept encrypted: the account is active with
    them."""
    secrets: AccountSecrets = {"values": inputs.values, "path_variables": inputs.path_variables}
    row.secret_ct = encrypt_account_secrets(ctx.keyring, row.id, secrets)
    row.details = inputs.public(pattern)
    row.status = "ACTIVE"


def store_client_inputs(
    row: ConnectedAccount, pattern: AuthPattern, inputs: StaticInputs, ctx: ServiceContext
) -> None:
    """A client-credentials account's (validated) inputs, kept encrypted; any token held is
    dropped, so the next proxied call fetches one with these credentials (see
    oauth/client_credentials.py for the stored shape)."""
    secrets: AccountSecrets = {
        "values": inputs.values,
        "path_variables": inputs.path_variables,
        "access_token": "",
        "refresh_token": "",
    }
    row.secret_ct = encrypt_account_secrets(ctx.keyring, row.id, secrets)
    row.details = {"scopes": [], "domain": "", "fields": inputs.public(pattern)}
    row.token_expires_at = None
    row.token_version = (row.token_version or 0) + 1
    row.status = "ACTIVE"
    row.updated_at = utcnow()


MAX_CACHED_TARGETS = 10_000


async def create_account(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> ConnectedAccountBody:
    body = parse_strict(CreateAccountRequest, raw)
    # The connection and provider come from the process's cache (ctx.targets) when they can:
    # then the insert below is the request's only database work. A duplicate is found by the
    # unique constraint, not by a read first.
    key = (principal.environment_id, body.connector)
    target = ctx.targets.get(key)
    if target is None:
        await read_without_lock(session)  # no transaction (on SQLite: no write lock)
        target = await resolve_target(session, principal, ctx, body.connector)
        # Shared with concurrent requests: out of this session, so that nothing done to
        # it (a rollback expires every row it holds) can reach them.
        session.expunge(target.connection)
        await session.commit()
        if len(ctx.targets) >= MAX_CACHED_TARGETS:
            ctx.targets.clear()
        ctx.targets[key] = target
    row = pending_account(
        principal.environment_id, target, body.identifier, body.organization_id, body.user_id
    )
    try:
        _apply_credentials(row, target, body.connected_account, ctx)
    except InvalidArgument:
        # An account that exists is the answer, whatever the body: as when it was read first.
        await read_without_lock(session)
        existing = await _existing(session, principal, target, body.identifier)
        if existing is not None:
            raise existing from None
        raise
    session.add(row)
    try:
        change = Change(
            "connected_account.create", row.id, after=_audit_view(row, target.connection)
        )
        await commit_change(session, ctx, principal, change)
    except IntegrityError:
        # An account for this identifier exists (made before, or concurrently), or the
        # connection was deleted meanwhile (another replica). After a rollback every loaded
        # row is expired: name nothing that would reload it.
        ctx.targets.pop(key, None)
        await session.rollback()
        await read_without_lock(session)
        target = await resolve_target(session, principal, ctx, body.connector)  # 404 if gone
        existing = await _existing(session, principal, target, body.identifier)
        if existing is not None:
            raise existing from None
        raise AlreadyExists(
            f"connector {body.connector!r} already has an account for {body.identifier!r}"
        ) from None
    return account_json(row, target.connection, ctx)


def pending_account(
    env_id: str, target: Target, identifier: str, organization_id: str | None, user_id: str | None
) -> ConnectedAccount:
    """A new account without credentials (PENDING_AUTH) for the target's connection."""
    now = utcnow()
    return ConnectedAccount(
        id=new_id("ca"),
        environment_id=env_id,
        connection_id=target.connection.id,
        identifier=identifier,
        organization_id=organization_id or None,
        user_id=user_id or None,
        status="PENDING_AUTH",
        authorization_type=target.pattern.type,
        details={},
        api_config={},
        token_version=0,
        created_at=now,
        updated_at=now,
    )


async def _existing(
    session: AsyncSession, principal: Principal, target: Target, identifier: str
) -> AlreadyExists | None:
    """The 409 for the connection's account of `identifier`, None when there is none."""
    row = await store.get(
        session,
        principal.environment_id,
        account_id=None,
        connection_id=target.connection.id,
        identifier=identifier,
    )
    return _taken(row, target.connection) if row is not None else None


def _taken(row: ConnectedAccount, connection: Connection) -> AlreadyExists:
    return AlreadyExists(
        f"connector {connection.name!r} already has an account for {row.identifier!r} "
        f"({row.id}); update it with PUT /api/v1/connected_accounts"
    )


async def find_account(
    session: AsyncSession,
    principal: Principal,
    *,
    account_id: str | None,
    connector: str | None,
    identifier: str | None,
) -> tuple[ConnectedAccount, Connection]:
    if not account_id and not (connector and identifier):
        raise InvalidArgument.field(
            "identifier", "name the account by id, or by connector and identifier"
        )
    connection_id = None
    if connector:
        connection = await connection_store.get(session, principal.environment_id, connector)
        if connection is None:
            raise NotFound(f"no connection named {connector!r} in this environment")
        connection_id = connection.id
    row = await store.get(
        session,
        principal.environment_id,
        account_id=account_id or None,
        connection_id=connection_id,
        identifier=identifier if not account_id else None,
    )
    if row is None:
        who = account_id or f"{identifier!r} on connector {connector!r}"
        raise NotFound(f"no connected account {who} in this environment")
    if account_id and identifier is not None and identifier != row.identifier:
        raise InvalidArgument.field(
            "identifier",
            f"does not match connected account {row.id} (its identifier is {row.identifier!r}); "
            "name the account by id or by connector and identifier",
        )
    owner = await connection_store.get(session, principal.environment_id, row.connection_id)
    assert owner is not None
    return row, owner


async def update_account(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> ConnectedAccountBody:
    body = parse_strict(UpdateAccountRequest, raw)
    row, connection = await find_account(
        session, principal, account_id=body.id, connector=body.connector, identifier=body.identifier
    )
    target = await resolve_target(session, principal, ctx, connection.id)
    before = _audit_view(row, connection)
    _apply_credentials(row, target, body.connected_account, ctx, update=True)
    if body.scope_selection is not None:
        row.api_config = {**row.api_config, "scope_selection": body.scope_selection.model_dump()}
    if body.organization_id is not None:
        row.organization_id = body.organization_id or None
    if body.user_id is not None:
        row.user_id = body.user_id or None
    row.updated_at = utcnow()
    change = Change(
        "connected_account.update", row.id, before=before, after=_audit_view(row, connection)
    )
    await commit_change(session, ctx, principal, change)
    return account_json(row, connection, ctx)


async def delete_account(
    session: AsyncSession, principal: Principal, ctx: ServiceContext, raw: Any
) -> None:
    ref = parse_strict(AccountRef, raw)
    row, connection = await find_account(
        session, principal, account_id=ref.id, connector=ref.connector, identifier=ref.identifier
    )
    await session.delete(row)
    change = Change("connected_account.delete", row.id, before=_audit_view(row, connection))
    await commit_change(session, ctx, principal, change)


# Scalekit's path word for "the account the caller's token is bound to" (GetConnectedAccount,
# DisconnectConnectedAccount). authrelay's API tokens belong to an environment, never to
# one connected account, so it names nothing here.
THIS_ACCOUNT = "this"


def no_this_account() -> InvalidArgument:
    return InvalidArgument.field(
        "id",
        f"{THIS_ACCOUNT!r} names the connected account a token is bound to; authrelay's API "
        "tokens belong to an environment, not to an account: name the account by its id",
    )


async def disconnect_account(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    account_id: str | None,
    ref_body: Any = None,
) -> ConnectedAccountResponse:
    """Disconnect one account: by `account_id`, or (`account_id` None, the `-:disconnect`
    form) by the body's `id` or `connector` and `identifier`."""
    if account_id == THIS_ACCOUNT:
        raise no_this_account()
    connector = identifier = None
    if account_id is None:
        ref = parse_strict(AccountRef, ref_body)
        account_id, connector, identifier = ref.id, ref.connector, ref.identifier
    row, connection = await find_account(
        session, principal, account_id=account_id, connector=connector, identifier=identifier
    )
    before = _audit_view(row, connection)
    row.secret_ct = None
    row.details = {}
    row.status = "DISCONNECTED"
    row.token_expires_at = None
    row.updated_at = utcnow()
    change = Change(
        "connected_account.disconnect", row.id, before=before, after=_audit_view(row, connection)
    )
    await commit_change(session, ctx, principal, change)
    return {"connected_account": account_json(row, connection, ctx)}


async def get_account(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    *,
    account_id: str | None,
    connector: str | None,
    identifier: str | None,
    reveal: bool,
    last_used: Any = None,
) -> ConnectedAccountResponse:
    if account_id == THIS_ACCOUNT:
        raise no_this_account()
    row, connection = await find_account(
        session, principal, account_id=account_id, connector=connector, identifier=identifier
    )
    if reveal:
        # Reading credentials is itself worth a trace (without the values).
        await record(session, principal, Change("connected_account.read_auth", row.id))
        await session.commit()
    used = last_used(row.id) if last_used else None
    return {"connected_account": account_json(row, connection, ctx, reveal=reveal, last_used=used)}


async def list_accounts(
    session: AsyncSession,
    principal: Principal,
    ctx: ServiceContext,
    filters: store.AccountFilter,
    *,
    page_size: str | None,
    page_token: str | None,
    last_used: Any = None,
) -> ListConnectedAccountsResponse:
    size = parse_page_size(page_size, MAX_PAGE_SIZE)
    after = decode_cursor(page_token) if page_token else None
    if page_token and (not isinstance(after, int) or isinstance(after, bool)):
        raise bad_token()
    rows, total = await store.page(
        session,
        principal.environment_id,
        filters,
        after_seq=after,
        limit=size + 1,
        count_limit=ctx.count_limit,
    )
    more = len(rows) > size
    rows = rows[:size]
    return {
        "connected_accounts": [
            account_list_json(a, c, last_used=last_used(a.id) if last_used else None)
            for a, c in rows
        ],
        "next_page_token": encode_cursor(rows[-1][0].seq) if more else "",
        "prev_page_token": "",
        "total_size": total,
    }


async def connection_ids(
    session: AsyncSession, principal: Principal, names: list[str]
) -> list[str]:
    ids = []
    for name in names:
        row = await connection_store.get(session, principal.environment_id, name)
        if row is not None:
            ids.append(row.id)
    return ids


async def created_times(
    session: AsyncSession, principal: Principal, account_ids: list[str]
) -> dict[str, str]:
    """When each of these accounts (of the principal's environment) was created, as the API
    writes times; for the dashboard, which shows it though the wire view does not."""
    if not account_ids:
        return {}
    found = await store.created_at(session, principal.environment_id, account_ids)
    return {k: v for k, v in ((k, _ts(v)) for k, v in found.items()) if v}
