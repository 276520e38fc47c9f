"""The tests follow the boundaries of their folders: a test module imports helpers from its
own folder, from `tests.support` or from `tests.conftest`, never from another test folder
(what two folders share lives in tests/support/)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED = {"support", "conftest"}


def _folder(path: Path) -> str:
    """The test folder of a module ("" for the modules directly in tests/)."""
    parts = path.relative_to(TESTS).parts
    return parts[0] if len(parts) > 1 else ""


def _imported(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in the module, nested ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def crossings(path: Path, source: str) -> list[str]:
    """`file:line imports module` for each import of `source` (the text of `path`, a module
    under tests/) that reaches into another test folder."""
    own = _folder(path)
    bad = []
    for line, module in _imported(ast.parse(source, str(path))):
        parts = module.split(".")
        if parts[0] != "tests" or len(parts) < 2 or parts[1] in SHARED:
            continue
        target = parts[1] if len(parts) > 2 or (TESTS / parts[1]).is_dir() else ""
        if target != own:
            bad.append(f"{path.relative_to(TESTS.parent)}:{line} imports {module}")
    return bad


def test_no_test_module_imports_from_another_test_folder() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 100
    bad = [hit for path in modules for hit in crossings(path, path.read_text())]
    assert not bad, "move what two test folders share to tests/support/:\n" + "\n".join(bad)


def test_a_crossing_is_named_with_its_file_and_line() -> None:
    source = (
        "from tests.support.proxy import enable\n"
        "from tests.conftest import keep\n"
        "from tests.proxy.test_streaming import big\n"
        "import tests.api\n"
        "def later():\n"
        "    from tests.test_docs import ROOT\n"
        "from tests.mcp.helpers import setup_config\n"
    )
    assert crossings(TESTS / "mcp" / "test_x.py", source) == [
        "tests/mcp/test_x.py:3 imports tests.proxy.test_streaming",
        "tests/mcp/test_x.py:4 imports tests.api",
        "tests/mcp/test_x.py:6 imports tests.test_docs",
    ]
    assert crossings(TESTS / "test_x.py", "from tests.test_docs import ROOT\n") == []
