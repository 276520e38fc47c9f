"""Every CLI command and every setting is documented (a test, so docs cannot fall behind)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from authrelay.cli.main import app
from authrelay.config import Settings
from tests.support.cli import command_paths

ROOT = Path(__file__).resolve().parents[1]


def test_every_cli_command_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    paths = command_paths(typer.main.get_command(app))
    assert len(paths) >= 7
    missing = [p for p in paths if f"`{p}" not in docs]
    assert not missing, f"undocumented commands: {missing}"


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    names = []
    for name, field in Settings.model_fields.items():
        env = "DATABASE_URL" if name == "database_url" else f"AUTHRELAY_{name.upper()}"
        names.append(env)
        assert field is not None
    names.append("AUTHRELAY_CONFIG_FILE")
    missing = [n for n in names if f"`{n}`" not in docs]
    assert not missing, f"undocumented settings: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```")
    assert "./scripts/serve" in blocks[1] and "./scripts/test" in blocks[1]
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
