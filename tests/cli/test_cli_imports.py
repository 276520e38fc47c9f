"""The CLI's own import rule (docs/architecture.md): command modules import the shared
helpers, never each other; only `main` puts the command groups together."""

from __future__ import annotations

import ast
from pathlib import Path

import authrelay.cli

CLI = Path(authrelay.cli.__file__).parent
HELPERS = {"__init__", "_lazy", "common", "devtls", "errors", "helptext", "local", "profiles"}
# A command group split in two for size: `accounts import` lives in its own module.
PARTS = {("accounts", "accounts_import")}


def _cli_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "authrelay.cli":
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("authrelay.cli."):
            found.append((node.lineno, (node.module or "").split(".")[2]))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name.split(".")[2])
                for alias in node.names
                if alias.name.startswith("authrelay.cli.")
            ]
    return found


def test_command_modules_import_helpers_never_each_other() -> None:
    modules = {path.stem: path for path in CLI.glob("*.py")}
    assert {"main", "common", "providers", "tools", "serve", "env", "keys"} <= set(modules)
    wrong = [
        f"cli/{name}.py:{line} imports the command module cli/{imported}.py"
        for name, path in sorted(modules.items())
        if name != "main"
        for line, imported in _cli_imports(path)
        if imported not in HELPERS and (name, imported) not in PARTS
    ]
    assert wrong == []


def test_the_scan_sees_a_command_module_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from authrelay.cli import common, tools\nfrom authrelay.cli.providers import x\n"
    )
    assert _cli_imports(sample) == [(1, "common"), (1, "tools"), (2, "providers")]
