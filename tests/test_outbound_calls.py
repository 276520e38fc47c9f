"""Every outbound HTTP call of the server, listed and reviewed (issue 24, SSRF): a scan of
`src/authrelay` with `ast` finds each place that sends a request or builds an HTTP client,
and fails unless the place is in `REVIEWED`, which names how its request passes the one
network guard (`authrelay.netguard`). A new call site fails here until it is reviewed; an
entry whose site is gone fails too, so the list stays the list.

What the scan counts as an outbound call:
- a request method (`request`, `get`, `post`, …) called on a name or attribute that the code
  annotates as an HTTP client anywhere in `src/` (`aiohttp.ClientSession`, `httpx.Client`,
  `httpx.AsyncClient`: `http`, `proxy_http`, …), or on a receiver whose name says `http`;
- a request function or client class of an HTTP library called by its module (`httpx.get`,
  `aiohttp.request`, `aiohttp.ClientSession`, `urllib.request.urlopen`, …) or by a name
  imported from it (`ClientSession(`, `TCPConnector(`), and raw connections
  (`socket.create_connection`, `asyncio.open_connection`).

The guards the list names are then proven on a real runtime against real listeners on
loopback: the OAuth session refuses IP literals (v4 and v6) and names that resolve to
blocked addresses before connecting, the proxy's client refuses such names, and a
refused target answers exactly as a closed port or a dropped connection does.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from authrelay.config import Settings
from authrelay.netguard import blocked_cause
from authrelay.oauth import rfc6749
from authrelay.oauth.exchange import ExchangeFailed, exchange
from authrelay.runtime import Runtime, create_runtime
from authrelay_client.providers.model import TokenExchange
from tests.support.listener import CountingListener

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "authrelay"

HTTP_LIBRARIES = frozenset({"aiohttp", "httpx", "requests", "urllib3", "urllib", "http"})
CLIENT_TYPES = ("ClientSession", "httpx.Client", "httpx.AsyncClient", "AsyncClient")
REQUEST_METHODS = frozenset(
    {"request", "get", "post", "put", "patch", "delete", "head", "options", "stream", "send",
     "ws_connect", "urlopen"}
)  # fmt: skip
CLIENT_BUILDERS = frozenset(
    {"ClientSession", "TCPConnector", "Client", "AsyncClient", "HTTPConnection",
     "HTTPSConnection", "PoolManager", "Session", "create_connection", "open_connection"}
)  # fmt: skip

# How each request is guarded, by kind (the keys of REVIEWED say which applies).
OAUTH_SESSION = (
    "runtime.http, the OAuth session of runtime.create_http_client: guard_middleware runs "
    "netguard.check_host on every request and redirect hop (IP literals), the connector's "
    "GuardedResolver checks every resolved address; failures answer netguard.unreachable"
)
PROXY_SESSION = (
    "runtime.proxy_http (runtime.create_proxy_client, the same guarded connector): the "
    "route's host passes netguard.check_host when the route is loaded (proxy/routes.py), "
    "each redirect hop in send_once; names through the connector's GuardedResolver"
)
NOT_THE_SERVER = (
    "the operator's CLI process, not the server: a URL the operator typed on their own "
    "machine (or the server they just started), never a stored definition's"
)

#: path under src/authrelay : enclosing function : the call as written -> how it is guarded
REVIEWED: dict[str, str] = {
    # the clients themselves
    "runtime.py:create_http_client:aiohttp.TCPConnector": (
        "the one connector: resolver=GuardedResolver(settings.allowlist)"
    ),
    "runtime.py:create_http_client:aiohttp.ClientSession": (
        "the OAuth session: middlewares=(guard_middleware(settings.allowlist),) on the "
        "guarded connector"
    ),
    "runtime.py:create_proxy_client:aiohttp.ClientSession": (
        "the proxy's session: connector=http.connector, the guarded one; literals checked "
        "by the proxy (see PROXY_SESSION)"
    ),
    # OAuth: token (code exchange, refresh, client credentials), user info, TOKEN_EXCHANGE
    "oauth/rfc6749.py:_token_request:http.post": OAUTH_SESSION
    + " (exchange_code at /oauth/callback, refresh, client_credentials)",
    "oauth/rfc6749.py:user_info:http.get": OAUTH_SESSION + " (user_info_uri)",
    "oauth/exchange.py:exchange:http.request": OAUTH_SESSION
    + " (TOKEN_EXCHANGE; _request also runs check_host before)",
    # MCP authorization server: a client ID metadata document (no redirects, 5 KB, 3 s)
    "mcp/oauth_clients.py:fetch_document:http.get": OAUTH_SESSION
    + " (runtime.http via AuthServerParts.http, allow_redirects=False)",
    # MCP sign-in: OIDC discovery and JWKS documents, the OIDC provider's token endpoint
    "mcp/oidc.py:fetch_json:http.get": OAUTH_SESSION
    + " (runtime.http via RemoteDocuments.http, allow_redirects=False)",
    "mcp/oidc.py:exchange_code:http.post": OAUTH_SESSION
    + " (runtime.http via AuthServerParts.http, allow_redirects=False)",
    "mcp/oidc.py:user_info:http.get": OAUTH_SESSION
    + " (runtime.http via AuthServerParts.http, allow_redirects=False)",
    # the proxy and tools (tools send through proxy/call.py -> proxy/send.py)
    "proxy/send.py:send_once:runtime.proxy_http.request": PROXY_SESSION,
    # not the server
    "cli/common.py:_fetch:httpx.get": NOT_THE_SERVER + " (--openapi/--docs URL)",
    "cli/serve.py:status:httpx.get": NOT_THE_SERVER + " (its own /readyz)",
}


def _annotated_clients(trees: dict[str, ast.Module]) -> set[str]:
    """Names the code annotates as HTTP clients: parameters, annotated assignments and
    fields, and properties returning one."""
    names: set[str] = set()

    def is_client(annotation: ast.expr | None) -> bool:
        return annotation is not None and any(t in ast.unparse(annotation) for t in CLIENT_TYPES)

    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and is_client(node.annotation):
                names.add(node.arg)
            elif isinstance(node, ast.AnnAssign) and is_client(node.annotation):
                target = node.target
                if isinstance(target, ast.Name):
                    names.add(target.id)
                elif isinstance(target, ast.Attribute):
                    names.add(target.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and is_client(
                node.returns
            ):
                if any(ast.unparse(d) == "property" for d in node.decorator_list):
                    names.add(node.name)
    return names


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _library_imports(tree: ast.Module) -> set[str]:
    """Names bound by `from <HTTP library> import name` (e.g. ClientSession)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in HTTP_LIBRARIES | {"socket", "asyncio"}:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _is_outbound(call: ast.Call, clients: set[str], imported: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Name):  # ClientSession(...), urlopen(...) imported by name
        return func.id in imported and func.id in CLIENT_BUILDERS | REQUEST_METHODS
    if not isinstance(func, ast.Attribute):
        return False
    text = ast.unparse(func)
    root = text.split(".")[0]
    if root in HTTP_LIBRARIES:  # httpx.get, aiohttp.ClientSession, urllib.request.urlopen
        return func.attr in REQUEST_METHODS | CLIENT_BUILDERS
    if func.attr in {"create_connection", "open_connection"}:  # raw sockets
        return root in {"socket", "asyncio"} or "loop" in text
    receiver = _last_name(func.value)
    return func.attr in REQUEST_METHODS and (receiver in clients or "http" in receiver.lower())


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """(enclosing function name, node) for every node; "" at module level."""

    def walk(node: ast.AST, where: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
            )
            yield inner, child
            yield from walk(child, inner)

    yield from walk(tree, "")


def outbound_calls() -> Iterator[tuple[str, ast.Call]]:
    """(`path:function:call`, the call) for every outbound call site of src/authrelay."""
    trees = {
        str(path.relative_to(SRC)): ast.parse(path.read_text(), str(path))
        for path in sorted(SRC.rglob("*.py"))
    }
    clients = _annotated_clients(trees)
    for name, tree in trees.items():
        imported = _library_imports(tree)
        for function, node in _functions(tree):
            if isinstance(node, ast.Call) and _is_outbound(node, clients, imported):
                yield f"{name}:{function}:{ast.unparse(node.func)}", node


def outbound_sites() -> dict[str, int]:
    """`path:function:call` for every outbound call site, with its first line."""
    found: dict[str, int] = {}
    for site, node in outbound_calls():
        found.setdefault(site, node.lineno)
    return found


def test_every_outbound_call_site_is_reviewed() -> None:
    found = outbound_sites()
    new = [f"src/authrelay/{site} (line {line})" for site, line in found.items()]
    new = [entry for entry, site in zip(new, found, strict=True) if site not in REVIEWED]
    gone = sorted(set(REVIEWED) - set(found))
    assert not new, (
        "outbound HTTP calls not reviewed: send them through runtime.http (the guarded OAuth "
        "session) or the proxy, then add them to REVIEWED saying how they are guarded:\n"
        + "\n".join(new)
    )
    assert not gone, f"REVIEWED names call sites that no longer exist: {gone}"


def test_no_request_drops_the_session_guard() -> None:
    """A per-request `middlewares=` replaces the session's (and so the guard), a
    `connector=` other than the runtime's skips the guarded resolver."""
    problems = []
    for site, node in outbound_calls():
        for keyword in node.keywords:
            value = ast.unparse(keyword.value)
            if keyword.arg == "middlewares" and "guard_middleware" not in value:
                problems.append(f"{site} (line {node.lineno}) middlewares={value}")
            if keyword.arg == "connector" and value not in {"connector", "http.connector"}:
                problems.append(f"{site} (line {node.lineno}) connector={value}")
    assert not problems


def test_the_scan_finds_what_it_must() -> None:
    """The scanner itself: each kind of outbound call is found, a dict's `get` is not."""
    source = """
import httpx, aiohttp, socket
from aiohttp import ClientSession
from urllib.request import urlopen

async def f(http: aiohttp.ClientSession, headers: dict[str, str], client) -> None:
    http.get("u"); headers.get("k"); client.proxy_http.request("GET", "u")
    httpx.post("u"); ClientSession(); urlopen("u"); socket.create_connection(("h", 1))
    aiohttp.request("GET", "u"); service.create_connection(s)
"""
    tree = ast.parse(source)
    clients = _annotated_clients({"m.py": tree})
    calls = [
        ast.unparse(node.func)
        for _, node in _functions(tree)
        if isinstance(node, ast.Call) and _is_outbound(node, clients, _library_imports(tree))
    ]
    assert sorted(calls) == sorted(
        [
            "http.get",
            "client.proxy_http.request",
            "httpx.post",
            "ClientSession",
            "urlopen",
            "socket.create_connection",
            "aiohttp.request",
        ]
    )


# ------------------------------------------------------------------ the guards, proven


@pytest.fixture
def listeners() -> Iterator[list[CountingListener]]:
    started = [CountingListener("127.0.0.1").start(), CountingListener("::1").start()]
    yield started
    for listener in started:
        listener.stop()


async def _runtime(tmp_path: Path, allowlist: str = "") -> Runtime:
    return await create_runtime(Settings(data_dir=tmp_path, upstream_allowlist=allowlist))


async def test_the_oauth_session_refuses_blocked_targets_before_connecting(
    tmp_path: Path, listeners: list[CountingListener]
) -> None:
    runtime = await _runtime(tmp_path)
    try:
        for listener in listeners:
            for url in (
                f"https://{listener.netloc}/token",
                f"http://{listener.netloc}/token",
            ):
                with pytest.raises(aiohttp.ClientError) as refused:
                    await runtime.http.post(url, data={"a": "b"})
                assert blocked_cause(refused.value) is not None, url
        # a name resolving to loopback: the resolver, for both clients
        for session in (runtime.http, runtime.proxy_http):
            with pytest.raises(aiohttp.ClientError) as refused:
                await session.get(f"http://localhost:{listeners[0].port}/")
            assert blocked_cause(refused.value) is not None
    finally:
        await runtime.close()
    assert [listener.received for listener in listeners] == [[], []]


async def test_each_oauth_request_is_refused_with_one_answer(
    tmp_path: Path, listeners: list[CountingListener]
) -> None:
    """Token request (client credentials, refresh, code exchange), user info and
    TOKEN_EXCHANGE, each at a loopback literal of a server without an allow-list: nothing
    reaches the listeners, and the answer is the one `netguard.unreachable` gives."""
    runtime = await _runtime(tmp_path)
    try:
        for listener in listeners:
            base = f"https://{listener.netloc}"
            client = rfc6749.ClientConfig("id", "secret-s3", f"{base}/token")
            calls = [
                rfc6749.client_credentials(runtime.http, client, scopes=["read"]),
                rfc6749.refresh(runtime.http, client, "rt-1"),
                rfc6749.exchange_code(
                    runtime.http, client, code="c", redirect_uri="https://x.test/cb",
                    code_verifier=None,
                ),
            ]  # fmt: skip
            for call in calls:
                with pytest.raises(rfc6749.TokenEndpointError) as refused:
                    await call
                assert refused.value.description == (
                    "the token endpoint is refused by the upstream allow-list or could not "
                    "be reached"
                )
            assert await rfc6749.user_info(runtime.http, f"{base}/me", "at") is None
            config = TokenExchange(url=f"{base}/exchange", token_path="token")
            with pytest.raises(ExchangeFailed) as failed:
                await exchange(runtime.http, config, {}, runtime.settings.allowlist)
            assert "is refused by the upstream allow-list or could not be reached" in str(
                failed.value
            )
    finally:
        await runtime.close()
    assert [listener.received for listener in listeners] == [[], []]


async def test_a_refused_target_answers_as_a_closed_or_a_silent_port(tmp_path: Path) -> None:
    """With 127.0.0.2 allow-listed: a closed port there, a port that drops the connection,
    and the open (but not allow-listed) 127.0.0.1 all give the same error."""
    runtime = await _runtime(tmp_path, "127.0.0.2/32")
    dropping = CountingListener("127.0.0.2").start()
    closed = CountingListener("127.0.0.2").start()
    closed.stop()  # the port is now closed
    open_blocked = CountingListener("127.0.0.1").start()
    try:
        answers = set()
        for netloc in (closed.netloc, dropping.netloc, open_blocked.netloc):
            client = rfc6749.ClientConfig("id", "s", f"http://{netloc}/token")
            with pytest.raises(rfc6749.TokenEndpointError) as failed:
                await asyncio.wait_for(rfc6749.refresh(runtime.http, client, "rt"), 10)
            answers.add((type(failed.value), failed.value.error, failed.value.description))
        assert len(answers) == 1, answers
        assert len(dropping.received) >= 1 and open_blocked.received == []
    finally:
        await runtime.close()
        dropping.stop()
        open_blocked.stop()
