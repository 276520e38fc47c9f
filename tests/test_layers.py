"""The layers of docs/architecture.md ("Layers"), checked on the import graph of the code.

foundation < domain < store < services < engines < runtime < edges: a module imports only
modules of its own layer or of layers below it; SQLAlchemy and the database drivers are
imported only in `store/`; packages of one layer do not import each other in a cycle; the
SDK (`authrelay_client`, and its mirror in `authrelay`) imports nothing from the server.

Every import counts, wherever it is written: at the top, inside a function (the lazy
imports of the CLI), under `if TYPE_CHECKING:` (a type named in a signature ties the
module to the one that defines it as much as a call does), and by a constant name
(`importlib.import_module`, `LazyModule`). Every module must be placed in `LAYER_OF`, so a
new module is placed on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = (ROOT / "src", ROOT / "client" / "src")

LAYERS = ("foundation", "domain", "store", "services", "engines", "runtime", "edges")
# The SDK: below everything else in the server (any layer may use it), and it may import
# nothing of the server.
SDK = "sdk"
SDK_PACKAGES = ("authrelay_client",)  # distributions of their own: no `authrelay` import at all
DATABASE_MODULES = frozenset({"sqlalchemy", "alembic", "sqlite3", "aiosqlite", "asyncpg"})
STORE = "authrelay.store"
DYNAMIC_IMPORTS = frozenset({"import_module", "LazyModule"})

# One line per module, or `package.*` for a package whose modules all share one layer (then
# no module under it may be listed apart: a package spanning layers lists every module).
LAYER_OF: dict[str, str] = {
    # ------------------------------------------------------------------ the SDK
    "authrelay": SDK,  # `authrelay.Client` and friends: the mirror of the SDK, and __version__
    "authrelay.client.*": SDK,
    "authrelay.integrations.*": SDK,
    "authrelay_client.*": SDK,
    # ------------------------------------------------------------------ foundation
    "authrelay.errors": "foundation",
    "authrelay.config": "foundation",
    "authrelay.enums": "foundation",
    "authrelay.pagination": "foundation",
    "authrelay.observability": "foundation",
    "authrelay.http_headers": "foundation",  # one Bearer and one Host parser
    "authrelay.asgi_errors": "foundation",  # one error answer for the plain-ASGI apps
    "authrelay.bounded_cache": "foundation",
    "authrelay.netguard": "foundation",  # the network guard: proxy and OAuth alike
    "authrelay.redact": "foundation",  # known secrets out of upstream text: OAuth and tools
    # ------------------------------------------------------------------ pure domain
    "authrelay.context": "domain",  # ServiceContext: settings, key ring, catalog
    "authrelay.providers": "domain",
    "authrelay.providers.validation": "domain",
    "authrelay.providers.grants": "domain",
    "authrelay.providers.injection_rules": "domain",
    "authrelay.providers.catalog": "domain",
    "authrelay.providers.infer.*": "domain",
    "authrelay.vault.*": "domain",  # cryptography only (CONVENTIONS: key rotation is a service)
    "authrelay.accounts": "domain",
    "authrelay.accounts.model": "domain",
    "authrelay.accounts.credentials": "domain",
    "authrelay.accounts.status": "domain",
    "authrelay.accounts.secrets": "domain",  # the one reader and writer of the account blob
    "authrelay.request_body": "domain",  # reading a JSON body (names fields as validation does)
    "authrelay.connections": "domain",
    "authrelay.connections.model": "domain",
    "authrelay.tools": "domain",
    "authrelay.tools.model": "domain",
    "authrelay.tools.binding": "domain",
    "authrelay.tools.naming": "domain",
    "authrelay.tools.schemas": "domain",
    "authrelay.tools.generate": "domain",
    "authrelay.auth": "domain",
    "authrelay.auth.principal": "domain",
    "authrelay.auth.client_secrets": "domain",
    "authrelay.auth.jwt_keys": "domain",
    "authrelay.auth.tokens": "domain",
    "authrelay.mcp": "domain",
    "authrelay.mcp.tokens": "domain",
    "authrelay.mcp.oauth_errors": "domain",
    "authrelay.mcp.redirect_uris": "domain",
    # ------------------------------------------------------------------ store
    "authrelay.store.*": "store",
    # ------------------------------------------------------------------ services
    "authrelay.providers.service": "services",
    "authrelay.providers.methods": "services",
    "authrelay.accounts.service": "services",
    "authrelay.connections.service": "services",
    "authrelay.tools.service": "services",
    "authrelay.tools.methods": "services",
    "authrelay.tools.listing": "services",
    "authrelay.tools.index": "services",
    "authrelay.tools.views": "services",
    "authrelay.tools.call_log": "services",  # the tool-call log's queue and writer
    "authrelay.tools.call_logs": "services",  # reading it: list, get, overview
    "authrelay.mcp.configs": "services",
    "authrelay.mcp.sessions": "services",
    "authrelay.mcp.catalog": "services",
    "authrelay.mcp.instances": "services",
    "authrelay.mcp.oauth_settings": "services",
    "authrelay.mcp.grants": "services",  # consent views and grants
    "authrelay.auth.clients": "services",
    "authrelay.auth.signing_keys": "services",
    "authrelay.keyrotation": "services",  # walks store/encrypted.py's registry
    "authrelay.audit": "services",
    "authrelay.changes": "services",
    "authrelay.dashboard.passwords": "services",
    "authrelay.dashboard.users": "services",
    # ------------------------------------------------------------------ engines
    "authrelay.oauth.*": "engines",
    "authrelay.proxy": "engines",
    "authrelay.proxy.cache": "engines",
    "authrelay.proxy.cache_metrics": "engines",
    "authrelay.proxy.call": "engines",
    "authrelay.proxy.parts": "engines",  # what the engines use of the runtime (a Protocol)
    "authrelay.proxy.resolve": "engines",
    "authrelay.proxy.send": "engines",
    "authrelay.proxy.guard": "engines",
    "authrelay.proxy.inject": "engines",
    "authrelay.proxy.placement": "engines",
    "authrelay.proxy.retry": "engines",
    "authrelay.proxy.routes": "engines",
    "authrelay.tools.execute": "engines",
    "authrelay.tools.upstream": "engines",
    "authrelay.tools.cache": "engines",
    "authrelay.mcp.accounts": "engines",  # account states with fresh OAuth links
    "authrelay.mcp.oauth_clients": "engines",  # fetches client ID metadata documents
    "authrelay.mcp.authserver": "engines",  # uses oauth_clients
    "authrelay.mcp.oidc": "engines",  # fetches OIDC discovery, JWKS, the provider's tokens
    # ------------------------------------------------------------------ runtime
    "authrelay.runtime": "runtime",
    # ------------------------------------------------------------------ edges
    "authrelay.__main__": "edges",
    "authrelay.app": "edges",
    "authrelay.transport": "edges",
    "authrelay.http2": "edges",  # HTTP/2 connections handed over by transport
    "authrelay.api.*": "edges",
    "authrelay.web.*": "edges",
    "authrelay.openapi.*": "edges",
    "authrelay.cli.*": "edges",
    "authrelay.mcp.server": "edges",
    "authrelay.mcp.edge": "edges",  # what the MCP URLs answer before the SDK
    "authrelay.proxy.app": "edges",  # the plain-ASGI app of the hot path
    "authrelay.tools.asgi": "edges",  # POST /api/v1/execute_tool as a plain-ASGI app
    "authrelay.grpc.*": "edges",  # the gRPC gateway: scalekit.v1 methods onto the REST side
    "authrelay.dashboard": "edges",
    "authrelay.dashboard.editor": "edges",
    "authrelay.dashboard.mount": "edges",
    "authrelay.dashboard.web": "edges",
    "authrelay.dashboard.pages_accounts": "edges",
    "authrelay.dashboard.pages_auth": "edges",
    "authrelay.dashboard.pages_mcp_oauth": "edges",
    "authrelay.dashboard.pages_connections": "edges",
    "authrelay.dashboard.pages_home": "edges",
    "authrelay.dashboard.pages_providers": "edges",
    "authrelay.dashboard.pages_tools": "edges",
}


@dataclass(frozen=True)
class Import:
    target: str  # the module imported: one of the graph's, or a third-party name
    line: int


@dataclass
class Module:
    name: str
    file: str  # as reported: relative to the repository
    imports: list[Import] = field(default_factory=list)


# ------------------------------------------------------------------------ reading the graph


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, known: set[str]) -> str:
    """The longest known module that `name` is or lies in; `name` itself when none is."""
    probe = name
    while probe:
        if probe in known:
            return probe
        probe = probe.rpartition(".")[0]
    return name


def _targets(node: ast.Import | ast.ImportFrom, package: str, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_resolve(alias.name, known) for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: `from . import x`, `from ..store import db`
        parts = package.split(".")
        base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
    # `from package import module` imports the module; `from module import name`, the module
    return [
        _resolve(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base, known)
        for alias in node.names
    ]


def _by_name(node: ast.AST, known: set[str]) -> list[str]:
    """`importlib.import_module("x")` and the CLI's `LazyModule("x")`: imports by a constant
    name (one computed at run time cannot be seen)."""
    if not isinstance(node, ast.Call) or not node.args:
        return []
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0]
    if (
        called in DYNAMIC_IMPORTS
        and isinstance(first, ast.Constant)
        and isinstance(first.value, str)
    ):
        return [_resolve(first.value, known)]
    return []


def _imports(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> list[Import]:
    """Every import of a module, once per target and line, in line order."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[Import] = set()
    for node in ast.walk(tree):  # every node: inside functions and `if TYPE_CHECKING:` too
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(Import(t, node.lineno) for t in _targets(node, package, known))
        found.update(Import(t, getattr(node, "lineno", 0)) for t in _by_name(node, known))
    return sorted(found, key=lambda i: (i.line, i.target))


def read_graph(roots: Iterable[Path], relative_to: Path) -> dict[str, Module]:
    files: dict[str, tuple[Path, Path]] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else []:
            files[_module_name(path, root)] = (path, root)
    known = set(files)
    graph: dict[str, Module] = {}
    for name, (path, _root) in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imports = _imports(tree, name, path.name == "__init__.py", known)
        graph[name] = Module(name, str(path.relative_to(relative_to)), imports)
    return graph


# ------------------------------------------------------------------------ the rule


def layer_of(module: str, table: Mapping[str, str]) -> str | None:
    if module in table:
        return table[module]
    probe = module
    while probe:
        if f"{probe}.*" in table:
            return table[f"{probe}.*"]
        probe = probe.rpartition(".")[0]
    return None


def _package(module: str) -> str:
    """The unit of the cycle rule: `authrelay.<package>` (or the top-level module); the
    SDK's distribution is one package (its private modules refer to each other, as httpx's
    do)."""
    if module.split(".")[0] in SDK_PACKAGES:
        return module.split(".")[0]
    return ".".join(module.split(".")[:2])


def _rank(layer: str) -> int:
    return -1 if layer == SDK else LAYERS.index(layer)


def _table_problems(graph: Mapping[str, Module], table: Mapping[str, str]) -> list[str]:
    problems = [
        f"LAYER_OF: {entry!r} has no layer of that name ({layer!r})"
        for entry, layer in table.items()
        if layer not in (*LAYERS, SDK)
    ]
    for entry in table:
        if entry.endswith(".*"):
            prefix = entry[:-1]
            inner = [e for e in table if e.startswith(prefix) and e != entry]
            if inner:
                problems.append(f"LAYER_OF: {entry!r} spans layers: list its modules ({inner})")
        elif entry not in graph:
            problems.append(f"LAYER_OF: {entry!r} names no module (moved or renamed?)")
    for name, module in sorted(graph.items()):
        if layer_of(name, table) is None:
            problems.append(f"{module.file}: module {name} is in no layer (add it to LAYER_OF)")
    return problems


def _import_problem(
    module: Module, layer: str, imp: Import, graph: Mapping[str, Module], table: Mapping[str, str]
) -> str | None:
    where = f"{module.file}:{imp.line}"
    root = imp.target.split(".")[0]
    if imp.target not in graph:
        if root in DATABASE_MODULES and not (
            module.name == STORE or module.name.startswith(STORE + ".")
        ):
            return f"{where}: {module.name} imports {imp.target} (SQL belongs in store/)"
        if layer == SDK and root == "authrelay":
            return f"{where}: the SDK module {module.name} imports the server ({imp.target})"
        return None
    target_layer = layer_of(imp.target, table)
    if target_layer is None:
        return None  # reported as unplaced
    if module.name.split(".")[0] in SDK_PACKAGES and root == "authrelay":
        return f"{where}: the SDK module {module.name} imports the server ({imp.target})"
    if layer == SDK and target_layer != SDK:
        return f"{where}: the SDK module {module.name} imports the server ({imp.target}, {target_layer})"
    if _rank(target_layer) > _rank(layer):
        return (
            f"{where}: {module.name} ({layer}) imports {imp.target} ({target_layer}), a layer above"
        )
    return None


def _cycle_problems(graph: Mapping[str, Module], table: Mapping[str, str]) -> list[str]:
    """Imports that tie two or more packages of one layer into a cycle."""
    edges: dict[tuple[str, str], list[str]] = {}  # (package, package it imports) -> where
    for name, module in graph.items():
        layer = layer_of(name, table)
        for imp in module.imports:
            if imp.target in graph and layer is not None and layer_of(imp.target, table) == layer:
                a, b = _package(name), _package(imp.target)
                if a != b:
                    places = edges.setdefault((a, b), [])
                    if f"{module.file}:{imp.line}" not in places:
                        places.append(f"{module.file}:{imp.line}")
    following: dict[str, set[str]] = {}
    for a, b in edges:
        following.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            for nxt in following.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    return [
        f"{where}: {a} imports {b}, which leads back to {a} (a cycle in one layer)"
        for (a, b), places in sorted(edges.items())
        if reaches(b, a)
        for where in places
    ]


def violations(graph: Mapping[str, Module], table: Mapping[str, str]) -> list[str]:
    """Every break of the rule, one line each, naming the file and line."""
    problems = _table_problems(graph, table)
    for name, module in sorted(graph.items()):
        layer = layer_of(name, table)
        if layer is None:
            continue
        for imp in module.imports:
            problem = _import_problem(module, layer, imp, graph, table)
            if problem:
                problems.append(problem)
    return problems + _cycle_problems(graph, table)


# ------------------------------------------------------------------------ the tests


def test_the_code_keeps_its_layers() -> None:
    problems = violations(read_graph(SOURCE_ROOTS, ROOT), LAYER_OF)
    assert not problems, (
        f"{len(problems)} imports against docs/architecture.md, Layers:\n" + "\n".join(problems)
    )


def _graph(*modules: tuple[str, list[str]]) -> dict[str, Module]:
    return {
        name: Module(
            name, f"{name.replace('.', '/')}.py", [Import(t, i + 1) for i, t in enumerate(targets)]
        )
        for name, targets in modules
    }


FAKE_TABLE = {
    "authrelay.errors": "foundation",
    "authrelay.config": "foundation",
    "authrelay.things.model": "domain",
    "authrelay.things.service": "services",
    "authrelay.others.service": "services",
    "authrelay.store.*": "store",
    "authrelay.api.*": "edges",
    "authrelay.client.*": SDK,
    "authrelay_client.*": SDK,
}


def _fake_graph(*modules: tuple[str, list[str]]) -> dict[str, Module]:
    """Every module FAKE_TABLE names, importing nothing, then `modules` over them."""
    return {**_graph(*((n, []) for n in FAKE_MODULES)), **_graph(*modules)}


FAKE_MODULES = (
    "authrelay.errors",
    "authrelay.config",
    "authrelay.things.model",
    "authrelay.things.service",
    "authrelay.others.service",
)


def test_a_graph_that_keeps_the_rule_passes() -> None:
    graph = _fake_graph(
        ("authrelay.things.model", ["authrelay.errors", "pydantic"]),
        ("authrelay.store.things", ["sqlalchemy.orm", "authrelay.things.model"]),
        ("authrelay.things.service", ["authrelay.store.things", "authrelay.client._x"]),
        ("authrelay.others.service", ["authrelay.things.service"]),
        ("authrelay.api.things", ["authrelay.things.service", "authrelay.others.service"]),
        ("authrelay.client._x", ["httpx"]),
    )
    assert violations(graph, FAKE_TABLE) == []


@pytest.mark.parametrize(
    ("modules", "expected"),
    [
        pytest.param(
            [("authrelay.things.model", ["authrelay.errors", "authrelay.things.service"])],
            "authrelay/things/model.py:2: authrelay.things.model (domain) imports "
            "authrelay.things.service (services), a layer above",
            id="upward",
        ),
        pytest.param(
            [("authrelay.things.service", ["sqlalchemy.ext.asyncio"])],
            "authrelay/things/service.py:1: authrelay.things.service imports "
            "sqlalchemy.ext.asyncio (SQL belongs in store/)",
            id="sqlalchemy outside store",
        ),
        pytest.param(
            [("authrelay.api.health", ["asyncpg"])],
            "authrelay/api/health.py:1: authrelay.api.health imports asyncpg (SQL belongs in store/)",
            id="driver outside store",
        ),
        pytest.param(
            [("authrelay.things.other", [])],
            "authrelay/things/other.py: module authrelay.things.other is in no layer "
            "(add it to LAYER_OF)",
            id="unplaced",
        ),
        pytest.param(
            [("authrelay.client._x", ["authrelay.things.model"])],
            "authrelay/client/_x.py:1: the SDK module authrelay.client._x imports the server "
            "(authrelay.things.model, domain)",
            id="SDK imports the server",
        ),
        pytest.param(
            [("authrelay_client.models", ["authrelay.config"])],
            "authrelay_client/models.py:1: the SDK module authrelay_client.models imports "
            "the server (authrelay.config)",
            id="SDK distribution imports the server",
        ),
    ],
)
def test_each_kind_of_break_is_named_with_file_and_line(
    modules: list[tuple[str, list[str]]], expected: str
) -> None:
    assert violations(_fake_graph(*modules), FAKE_TABLE) == [expected]


def test_a_cycle_between_packages_of_one_layer_is_named_at_both_ends() -> None:
    graph = _fake_graph(
        ("authrelay.things.service", ["authrelay.others.service"]),
        ("authrelay.others.service", ["authrelay.errors", "authrelay.things.service"]),
    )
    assert violations(graph, FAKE_TABLE) == [
        "authrelay/others/service.py:2: authrelay.others imports authrelay.things, which "
        "leads back to authrelay.others (a cycle in one layer)",
        "authrelay/things/service.py:1: authrelay.things imports authrelay.others, which "
        "leads back to authrelay.things (a cycle in one layer)",
    ]


def test_every_break_is_reported_at_once() -> None:
    graph = _fake_graph(
        ("authrelay.errors", ["authrelay.api.things", "sqlalchemy"]),
        ("authrelay.api.things", []),
    )
    assert violations(graph, FAKE_TABLE) == [
        "authrelay/errors.py:1: authrelay.errors (foundation) imports authrelay.api.things "
        "(edges), a layer above",
        "authrelay/errors.py:2: authrelay.errors imports sqlalchemy (SQL belongs in store/)",
    ]


def test_the_table_names_only_modules_that_exist_and_wildcards_do_not_overlap() -> None:
    problems = violations(
        _graph(("authrelay.errors", []), ("authrelay.store.db", [])),
        {
            "authrelay.errors": "foundation",
            "authrelay.gone": "domain",
            "authrelay.store.*": "store",
            "authrelay.store.db": "store",
        },
    )
    assert problems == [
        "LAYER_OF: 'authrelay.gone' names no module (moved or renamed?)",
        "LAYER_OF: 'authrelay.store.*' spans layers: list its modules (['authrelay.store.db'])",
    ]


def test_imports_inside_functions_and_type_checking_blocks_count(tmp_path: Path) -> None:
    package = tmp_path / "authrelay"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from authrelay.high import Thing\n"
        "def f() -> None:\n"
        "    from . import high\n"
        "def g() -> None:\n"
        "    importlib.import_module('authrelay.high')\n"
    )
    (package / "high.py").write_text("class Thing: ...\n")
    graph = read_graph([tmp_path], tmp_path)
    assert [
        (i.target, i.line)
        for i in graph["authrelay.low"].imports
        if i.target.startswith("authrelay")
    ] == [
        ("authrelay.high", 3),
        ("authrelay.high", 5),
        ("authrelay.high", 7),
    ]
