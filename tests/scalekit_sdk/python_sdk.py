"""Drives scalekit-sdk-python against an authrelay server: every Agent Auth method, in order.

Run as a script by the test (conftest.run_driver), so that the gRPC library reads
GRPC_DEFAULT_SSL_ROOTS_FILE_PATH from this process's environment before it loads its trust
roots (it reads them once per process). The config (one JSON line on stdin) names the server,
the API client and the resources the test made over REST. For user verification the script
prints `{"authorize": link, "identifier": who}` and reads back the `auth_request_id` the
user's way through the link ended with (the test plays the user). Its last line is one JSON
object: for each step, what the SDK answered (`ok`, as JSON) or what it raised (`error`: the
exception's class, its base classes, the gRPC status and the message). The test
(test_python_sdk.py) checks them.
The step names are the SDK's own method names (docs/scalekit-sdks.md lists them).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import BadRequest
from scalekit import ScalekitClient
from scalekit.actions.models.custom_provider import AuthField, AuthPattern
from scalekit.actions.models.mcp_config import McpConfigConnectionToolMapping
from scalekit.actions.models.requests.create_custom_provider_request import (
    CreateCustomProviderRequest,
)
from scalekit.actions.models.requests.delete_custom_provider_request import (
    DeleteCustomProviderRequest,
)
from scalekit.actions.models.requests.list_providers_request import ListProvidersRequest
from scalekit.actions.models.requests.update_custom_provider_request import (
    UpdateCustomProviderRequest,
)
from scalekit.core import CoreClient
from scalekit.v1.connected_accounts.connected_accounts_pb2 import (
    AuthorizationDetails,
    CreateConnectedAccount,
    StaticAuth,
    UpdateConnectedAccount,
)
from scalekit.v1.connections.connections_pb2 import CreateConnection, Flags, UpdateConnection
from scalekit.v1.mcp.mcp_pb2 import McpConfig
from scalekit.v1.mcp.mcp_pb2 import McpConfigConnectionToolMapping as ProtoMapping
from scalekit.v1.tools.tools_pb2 import Filter, ScopedToolFilter


def jsonable(value: Any) -> Any:
    if isinstance(value, tuple) and value and isinstance(value[0], Message):
        value = value[0]  # the low-level clients answer (message, grpc call)
    if isinstance(value, Message):
        return MessageToDict(value, preserving_proto_field_name=True)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def violations(exc: BaseException) -> list[str]:
    """The fields named by a google.rpc.BadRequest among the error's details (the SDK keeps
    the status's details, packed, in `err_details`)."""
    fields = []
    details = getattr(exc, "err_details", None)
    for detail in () if details is None or isinstance(details, str) else details:
        bad = BadRequest()
        if hasattr(detail, "Unpack") and detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return fields


def failure(exc: BaseException) -> dict[str, Any]:
    grpc_status = getattr(exc, "grpc_status", None)
    return {
        "field_violations": violations(exc),
        "class": type(exc).__name__,
        "classes": [cls.__name__ for cls in type(exc).__mro__],
        "grpc_status": getattr(grpc_status, "name", None),
        "error_code": getattr(exc, "error_code", None),
        "message": str(exc)[:2000],
    }


class Steps:
    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def run(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            answer = call()
        except Exception as exc:  # recorded for the test to check, never hidden
            self.results[name] = {"error": failure(exc)}
            return None
        self.results[name] = {"ok": jsonable(answer)}
        return answer


def expired_client(cfg: dict[str, Any]) -> ScalekitClient:
    """A client whose token from /oauth/token has since expired: its first token request is
    answered with an expired token (minted by the test with the server's signing key), as
    if an hour had passed since the SDK started. Everything after is the SDK's own doing."""
    real = CoreClient.authenticate
    handed_out = []

    def authenticate(self: CoreClient, data: dict[str, Any]) -> requests.Response:
        if handed_out:
            return real(self, data)
        handed_out.append(True)
        answer = requests.Response()
        answer.status_code = 200
        answer._content = json.dumps({"access_token": cfg["expired_token"]}).encode()
        return answer

    CoreClient.authenticate = authenticate  # type: ignore[method-assign]
    try:
        return ScalekitClient(cfg["env_url"], cfg["client_id"], cfg["client_secret"])
    finally:
        CoreClient.authenticate = real  # type: ignore[method-assign]


def authorized(link: str, who: str) -> str:
    """The auth_request_id the user's way through `link` ended with (the test plays the
    user: sign-in and consent at the authorization server, back to authrelay's callback,
    then to the app's verify URL)."""
    print(json.dumps({"authorize": link, "identifier": who}), flush=True)
    request_id: str = json.loads(sys.stdin.readline())["auth_request_id"]
    return request_id


def verification(steps: Steps, sk: ScalekitClient, cfg: dict[str, Any]) -> None:
    """A user authorizes the OAuth connection through a link with a user_verify_url, then
    the app verifies them: low level, then through actions; each account then calls the
    upstream with the user's access token."""
    ca, actions = sk.connected_accounts, sk.actions
    conn, tool, u, verify_url = (
        cfg["oauth_connection"], cfg["oauth_tool"], cfg["unique"], cfg["verify_url"]
    )  # fmt: skip
    low = f"verified-{u}@example.com"
    link = steps.run(
        "connected_accounts.get_magic_link_for_connected_account(verify)",
        lambda: ca.get_magic_link_for_connected_account(
            conn, low, state="st-low", user_verify_url=verify_url
        ),
    )
    if link is not None:
        request_id = authorized(link[0].link, low)
        steps.run(
            "connected_accounts.get_connected_account_details_by_identifier(pending)",
            lambda: ca.get_connected_account_details_by_identifier(conn, low),
        )
        steps.run(
            "connected_accounts.verify_connected_account_user(verified)",
            lambda: ca.verify_connected_account_user(request_id, low),
        )
        steps.run(
            "connected_accounts.get_connected_account_by_identifier(verified)",
            lambda: ca.get_connected_account_by_identifier(conn, low),
        )
        steps.run(
            "tools.execute_tool(verified)",
            lambda: sk.tools.execute_tool(
                tool, low, params={"owner": "verified-low"}, connection_name=conn
            ),
        )
    typed = f"averified-{u}@example.com"
    made = steps.run(
        "actions.get_authorization_link(verify)",
        lambda: actions.get_authorization_link(
            identifier=typed, connection_name=conn, state="st-typed", user_verify_url=verify_url
        ),
    )
    if made is not None:
        typed_id = authorized(made.link, typed)
        steps.run(
            "actions.verify_connected_account_user(verified)",
            lambda: actions.verify_connected_account_user(typed_id, typed),
        )
        steps.run(
            "actions.verify_connected_account_user(again)",
            lambda: actions.verify_connected_account_user(typed_id, typed),
        )
        steps.run(
            "actions.get_connected_account(verified)",
            lambda: actions.get_connected_account(connection_name=conn, identifier=typed),
        )
        steps.run(
            "actions.execute_tool(verified)",
            lambda: actions.execute_tool(
                tool_input={"owner": "verified-act"},
                tool_name=tool,
                identifier=typed,
                connection_name=conn,
            ),
        )

        def proxied() -> Any:
            answer = actions.request(conn, typed, "/owners/verified-req/items")
            return {"status": answer.status_code, "json": answer.json()}

        steps.run("actions.request(verified)", proxied)


def main() -> None:
    cfg = json.loads(sys.stdin.readline())
    steps = Steps()
    sk = steps.run(
        "ScalekitClient",
        lambda: ScalekitClient(cfg["env_url"], cfg["client_id"], cfg["client_secret"]),
    )
    if sk is None:
        print(json.dumps(steps.results))
        return
    steps.results["ScalekitClient"] = {"ok": {"token": bool(sk.core_client.access_token)}}
    conn, who, tool, u = cfg["connection"], cfg["identifier"], cfg["tool"], cfg["unique"]
    other = f"other-{u}"
    ca, tools, mcp, actions = sk.connected_accounts, sk.tools, sk.mcp, sk.actions
    key = {"api_key": "k-sdk-1"}

    # Connected accounts, low level (ConnectedAccountService)
    steps.run(
        "connected_accounts.create_connected_account",
        lambda: ca.create_connected_account(
            conn,
            who,
            CreateConnectedAccount(
                authorization_details=AuthorizationDetails(static_auth=StaticAuth(details=key))
            ),
        ),
    )
    steps.run(
        "connected_accounts.get_connected_account_by_identifier",
        lambda: ca.get_connected_account_by_identifier(conn, who),
    )
    steps.run(
        "connected_accounts.get_connected_account_details_by_identifier",
        lambda: ca.get_connected_account_details_by_identifier(conn, who),
    )
    steps.run(
        "connected_accounts.list_connected_accounts",
        lambda: ca.list_connected_accounts(connector=conn, identifier=who),
    )
    steps.run(
        "connected_accounts.update_connected_account",
        lambda: ca.update_connected_account(
            conn, who, UpdateConnectedAccount(api_config={"region": "eu"})
        ),
    )
    steps.run(
        "connected_accounts.get_magic_link_for_connected_account",
        lambda: ca.get_magic_link_for_connected_account(conn, who, state="st-1"),
    )
    steps.run(
        "connected_accounts.verify_connected_account_user",
        lambda: ca.verify_connected_account_user("bm90LWEtcmVxdWVzdA", who),
    )

    # Connected accounts through actions (typed answers)
    steps.run(
        "actions.create_connected_account",
        lambda: actions.create_connected_account(
            connection_name=conn, identifier=other, authorization_details={"static_auth": key}
        ),
    )
    steps.run(
        "actions.get_or_create_connected_account",
        lambda: actions.get_or_create_connected_account(connection_name=conn, identifier=other),
    )
    steps.run(
        "actions.get_or_create_connected_account(new)",
        lambda: actions.get_or_create_connected_account(
            connection_name=conn,
            identifier=f"third-{u}",
            authorization_details={"static_auth": key},
        ),
    )
    steps.run(
        "actions.upsert_connected_account",
        lambda: actions.upsert_connected_account(
            connection_name=conn,
            identifier=f"third-{u}",
            authorization_details={"static_auth": {"api_key": "k-sdk-3"}},
        ),
    )
    steps.run(
        "actions.update_connected_account",
        lambda: actions.update_connected_account(
            connection_name=conn, identifier=other, api_config={"region": "us"}
        ),
    )
    steps.run(
        "actions.get_connected_account",
        lambda: actions.get_connected_account(connection_name=conn, identifier=other),
    )
    steps.run(
        "actions.get_connected_account_details",
        lambda: actions.get_connected_account_details(connection_name=conn, identifier=other),
    )
    steps.run(
        "actions.list_connected_accounts",
        lambda: actions.list_connected_accounts(connection_name=conn),
    )
    steps.run(
        "actions.get_authorization_link",
        lambda: actions.get_authorization_link(identifier=other, connection_name=conn),
    )
    steps.run(
        "actions.verify_connected_account_user",
        lambda: actions.verify_connected_account_user("bm90LWEtcmVxdWVzdA", other),
    )
    steps.run(
        "actions.delete_connected_account",
        lambda: actions.delete_connected_account(connection_name=conn, identifier=f"third-{u}"),
    )
    steps.run(
        "connected_accounts.delete_connected_account",
        lambda: ca.delete_connected_account(conn, other),
    )
    steps.run(
        "actions.list_connected_accounts(after deletes)",
        lambda: actions.list_connected_accounts(connection_name=conn),
    )

    # Tools (ToolService)
    steps.run("tools.list_tools", lambda: tools.list_tools(filter=Filter(tool_name=[tool])))
    steps.run(
        "tools.list_scoped_tools",
        lambda: tools.list_scoped_tools(who, ScopedToolFilter(connection_names=[conn])),
    )
    steps.run("tools.search_tools", lambda: tools.search_tools(cfg["search"], identifier=who))
    steps.run(
        "tools.execute_tool",
        lambda: tools.execute_tool(
            tool, who, params={"owner": "sdk", "limit": 2}, connection_name=conn
        ),
    )
    steps.run("actions.list_tools", lambda: actions.list_tools(tool_name=[tool]))
    steps.run(
        "actions.execute_tool",
        lambda: actions.execute_tool(
            tool_input={"owner": "act"}, tool_name=tool, identifier=who, connection_name=conn
        ),
    )

    def langchain() -> Any:
        found = actions.langchain.get_tools(who, connection_names=[conn], tool_names=[tool])
        return {
            "names": [t.name for t in found],
            "result": found[0].invoke({"owner": "lc"}) if found else None,
        }

    steps.run("actions.langchain.get_tools", langchain)

    def proxied() -> Any:
        answer = actions.request(conn, who, "/owners/req/items", method="POST", body={"a": 1})
        return {"status": answer.status_code, "json": answer.json()}

    steps.run("actions.request", proxied)

    # MCP configs, instances and session tokens (McpService), low level then actions
    mapping = ProtoMapping(connection_name=conn, tools=[tool])
    cfg_name = f"cfg_{u}"
    created = steps.run(
        "mcp.create_config",
        lambda: mcp.create_config(
            McpConfig(name=cfg_name, description="first", connection_tool_mappings=[mapping])
        ),
    )
    config_id = created[0].config.id if created else "missing"
    steps.run("mcp.list_configs", lambda: mcp.list_configs(filter_name=cfg_name))
    steps.run("mcp.update_config", lambda: mcp.update_config(config_id, description="second"))
    steps.run(
        "mcp.list_mcp_connected_accounts",
        lambda: mcp.list_mcp_connected_accounts(config_id, who, include_auth_link=True),
    )
    steps.run(
        "mcp.create_session_token",
        lambda: mcp.create_session_token(config_id, who, expiry=timedelta(minutes=5)),
    )
    steps.run(
        "mcp.create_session_token(connection)",
        lambda: mcp.create_session_token(
            connection_name=conn, identifier=who, access_level="READ_ONLY"
        ),
    )
    ensured = steps.run(
        "mcp.ensure_instance", lambda: mcp.ensure_instance(f"inst-{u}", cfg_name, who)
    )
    instance_id = ensured[0].instance.id if ensured else "missing"
    steps.run("mcp.get_instance", lambda: mcp.get_instance(instance_id))
    steps.run("mcp.list_instances", lambda: mcp.list_instances(filter_user_identifier=who))
    steps.run("mcp.update_instance", lambda: mcp.update_instance(instance_id, name=f"renamed-{u}"))
    steps.run(
        "mcp.get_instance_auth_state",
        lambda: mcp.get_instance_auth_state(instance_id, include_auth_links=True),
    )
    steps.run("mcp.delete_instance", lambda: mcp.delete_instance(instance_id))

    am = actions.mcp
    acfg = f"acfg_{u}"
    made = steps.run(
        "actions.mcp.create_config",
        lambda: am.create_config(
            name=acfg,
            description="typed",
            connection_tool_mappings=[
                McpConfigConnectionToolMapping(connection_name=conn, tools=[tool])
            ],
        ),
    )
    aconfig_id = made.config.id if made is not None and made.config else "missing"
    steps.run("actions.mcp.list_configs", lambda: am.list_configs(filter_name=acfg))
    steps.run("actions.list_configs", lambda: actions.list_configs(filter_name=acfg))
    steps.run(
        "actions.mcp.update_config", lambda: am.update_config(aconfig_id, description="typed 2")
    )
    steps.run(
        "actions.update_config", lambda: actions.update_config(aconfig_id, description="typed 3")
    )
    steps.run(
        "actions.mcp.list_mcp_connected_accounts",
        lambda: am.list_mcp_connected_accounts(aconfig_id, who),
    )
    steps.run(
        "actions.mcp.create_session_token",
        lambda: am.create_session_token(aconfig_id, who, access_level="FULL"),
    )
    typed = steps.run(
        "actions.mcp.ensure_instance",
        lambda: am.ensure_instance(config_name=acfg, user_identifier=who, name=f"ai-{u}"),
    )
    ainst = typed.instance.id if typed is not None and typed.instance else "missing"
    steps.run("actions.ensure_instance", lambda: actions.ensure_instance(acfg, who, name=f"ai-{u}"))
    steps.run("actions.mcp.get_instance", lambda: am.get_instance(ainst))
    steps.run("actions.get_instance", lambda: actions.get_instance(ainst))
    steps.run("actions.mcp.list_instances", lambda: am.list_instances(filter_config_name=acfg))
    steps.run("actions.list_instances", lambda: actions.list_instances(filter_config_name=acfg))
    steps.run("actions.mcp.update_instance", lambda: am.update_instance(ainst, name=f"ai2-{u}"))
    steps.run("actions.update_instance", lambda: actions.update_instance(ainst, name=f"ai3-{u}"))
    steps.run("actions.mcp.get_instance_auth_state", lambda: am.get_instance_auth_state(ainst))
    steps.run("actions.get_instance_auth_state", lambda: actions.get_instance_auth_state(ainst))
    steps.run("actions.mcp.delete_instance", lambda: am.delete_instance(ainst))
    steps.run("actions.delete_instance", lambda: actions.delete_instance(ainst))
    steps.run("actions.mcp.delete_config", lambda: am.delete_config(aconfig_id))
    steps.run(
        "actions.create_config(no mappings)",
        lambda: actions.create_config(name=f"ecfg_{u}", description="no connections"),
    )
    made_b = steps.run(
        "actions.create_config",
        lambda: actions.create_config(
            name=f"bcfg_{u}",
            description="via actions",
            connection_tool_mappings=[McpConfigConnectionToolMapping(connection_name=conn)],
        ),
    )
    bconfig_id = made_b.config.id if made_b is not None and made_b.config else "missing"
    steps.run("actions.delete_config", lambda: actions.delete_config(bconfig_id))
    steps.run("mcp.delete_config", lambda: mcp.delete_config(config_id))
    steps.run("mcp.list_configs(after deletes)", lambda: mcp.list_configs(filter_name=cfg_name))

    # Providers (ProviderService), low level then actions
    pattern = AuthPattern(
        type="API_KEY",
        display_name="API key",
        fields=[AuthField(field_name="api_key", label="Key", input_type="password", required=True)],
    )
    low = steps.run(
        "providers.create_custom_provider",
        lambda: sk.actions._providers_client.create_custom_provider(
            f"Low {u}", cfg["upstream_url"], auth_patterns=[pattern], description="low"
        ),
    )
    low_id = low[0].provider.identifier if low else "missing"
    providers = sk.actions._providers_client
    steps.run(
        "providers.update_custom_provider",
        lambda: providers.update_custom_provider(
            low_id, f"Low {u}", cfg["upstream_url"], description="low 2"
        ),
    )
    steps.run("providers.list_providers", lambda: providers.list_providers(identifier=low_id))
    steps.run("providers.delete_custom_provider", lambda: providers.delete_custom_provider(low_id))
    steps.run(
        "providers.list_providers(after delete)",
        lambda: providers.list_providers(identifier=low_id),
    )
    ap = actions.providers
    # The typed requests accept only an https proxy_url (the SDK's own check); this provider
    # is made, read and deleted, never called.
    typed_url = f"https://widgets-{u}.example.com/api"
    typed_p = steps.run(
        "actions.providers.create_custom_provider",
        lambda: ap.create_custom_provider(
            CreateCustomProviderRequest(
                display_name=f"Typed {u}",
                proxy_url=typed_url,
                description="typed",
                auth_patterns=[pattern],
                metadata={"team": "sdk"},
            )
        ),
    )
    typed_id = typed_p.provider.identifier if typed_p is not None else "missing"
    steps.run(
        "actions.providers.update_custom_provider",
        lambda: ap.update_custom_provider(
            UpdateCustomProviderRequest(
                identifier=typed_id,
                display_name=f"Typed {u}",
                proxy_url=typed_url,
                description="typed 2",
            )
        ),
    )
    steps.run(
        "actions.providers.list_providers",
        lambda: ap.list_providers(ListProvidersRequest(provider_type=1, identifier=typed_id)),
    )
    steps.run(
        "actions.providers.delete_custom_provider",
        lambda: ap.delete_custom_provider(DeleteCustomProviderRequest(identifier=typed_id)),
    )

    # Connections (ConnectionService): the environment-level app connections
    cn = sk.connection
    steps.run(
        "connection.list_app_connections",
        lambda: cn.list_app_connections(provider=cfg["provider"]),
    )
    env_conn = steps.run(
        "connection.create_environment_connection",
        lambda: cn.create_environment_connection(
            CreateConnection(provider_key=cfg["provider"], key_id=f"envc-{u}"), Flags(is_app=True)
        ),
    )
    env_id = env_conn[0].connection.id if env_conn else "missing"
    steps.run(
        "connection.get_environment_connection", lambda: cn.get_environment_connection(env_id)
    )
    steps.run(
        "connection.update_environment_connection",
        lambda: cn.update_environment_connection(env_id, UpdateConnection(key_id=f"envc2-{u}")),
    )
    steps.run(
        "connection.list_connections_by_domain",
        lambda: cn.list_connections_by_domain(f"{u}.example.com"),
    )
    steps.run("connection.list_connections", lambda: cn.list_connections("org_none"))
    # Scalekit's organizations' SSO connections: authrelay has no organizations
    steps.run("connection.get_connection", lambda: cn.get_connection("org_none", env_id))
    steps.run("connection.enable_connection", lambda: cn.enable_connection("org_none", env_id))
    steps.run("connection.disable_connection", lambda: cn.disable_connection("org_none", env_id))
    steps.run(
        "connection.create_connection",
        lambda: cn.create_connection(
            "org_none", CreateConnection(provider_key=cfg["provider"], key_id=f"orgc-{u}")
        ),
    )
    steps.run("connection.delete_connection", lambda: cn.delete_connection("org_none", env_id))

    # User verification after an OAuth authorization (the test plays the user)
    verification(steps, sk, cfg)

    # Error paths
    steps.run(
        "error.unknown_account",
        lambda: actions.get_connected_account(connection_name=conn, identifier=f"nobody-{u}"),
    )
    steps.run(
        "error.bad_input",
        lambda: tools.execute_tool(tool, who, params={"limit": "many"}, connection_name=conn),
    )
    steps.run(
        "error.upstream_4xx",
        lambda: tools.execute_tool(
            cfg["status_tool"], who, params={"code": 404}, connection_name=conn
        ),
    )
    stale = steps.run("error.expired_token.client", lambda: expired_client(cfg))
    if stale is not None:
        steps.results["error.expired_token.client"] = {
            "ok": {"token_was_expired": stale.core_client.access_token == cfg["expired_token"]}
        }
        steps.run(
            "error.expired_token", lambda: stale.tools.list_tools(filter=Filter(tool_name=[tool]))
        )
        steps.results["error.expired_token.renewed"] = {
            "ok": stale.core_client.access_token != cfg["expired_token"]
        }
    print(json.dumps(steps.results))


if __name__ == "__main__":
    main()
