"""A bad setting stops `authrelay serve` with one line naming the setting: no traceback, a
non-zero exit status, and no server left running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import Backend, free_port


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    backend = Backend("sqlite", tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "authrelay", "serve", "--port", str(free_port())],
        env=backend.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _closed_port_url() -> str:
    return f"postgresql://authrelay:secret-password@127.0.0.1:{free_port()}/authrelay"


CASES = [
    ("AUTHRELAY_TOKEN_TTL_SECONDS", {"AUTHRELAY_TOKEN_TTL_SECONDS": "10"}),
    ("AUTHRELAY_LOG_LEVEL", {"AUTHRELAY_LOG_LEVEL": "verbose"}),
    ("DATABASE_URL", {"DATABASE_URL": "mysql://root:pw@127.0.0.1/authrelay"}),
    ("AUTHRELAY_UPSTREAM_ALLOWLIST", {"AUTHRELAY_UPSTREAM_ALLOWLIST": "300.1.1.1/99"}),
    ("AUTHRELAY_UPSTREAM_ALLOWLIST", {"AUTHRELAY_UPSTREAM_ALLOWLIST": "127.0.0.1,http://foo"}),
    ("AUTHRELAY_CONFIG_FILE", {"AUTHRELAY_CONFIG_FILE": "/nonexistent/authrelay.toml"}),
    ("AUTHRELAY_MASTER_KEYS", {"AUTHRELAY_MASTER_KEYS": "k1:tooshort"}),
    ("AUTHRELAY_HEADER_TIMEOUT", {"AUTHRELAY_HEADER_TIMEOUT": "0"}),
]


@pytest.mark.parametrize(
    ("setting", "env"), CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)]
)
def test_bad_setting_is_one_clear_line(tmp_path: Path, setting: str, env: dict[str, str]) -> None:
    proc = _serve(tmp_path, **env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Traceback" not in output
    errors = [line for line in proc.stderr.splitlines() if "configuration error" in line]
    assert len(errors) == 1, output
    assert setting in errors[0]


def test_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    proc = _serve(tmp_path, DATABASE_URL=_closed_port_url())
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Traceback" not in output
    assert "secret-password" not in output
    errors = [line for line in proc.stderr.splitlines() if "configuration error" in line]
    assert len(errors) == 1, output
    assert "DATABASE_URL" in errors[0]
    assert "127.0.0.1" in errors[0]


def test_bad_config_file_contents(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("token_ttl_seconds = [\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("tokn_ttl_seconds = 600\n")
    for path, needle in ((broken, "AUTHRELAY_CONFIG_FILE"), (unknown, "tokn_ttl_seconds")):
        proc = _serve(tmp_path, AUTHRELAY_CONFIG_FILE=str(path))
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, output
        assert "Traceback" not in output
        assert needle in output


def test_good_config_file_and_allowlist_are_accepted(tmp_path: Path) -> None:
    """The checks refuse only what is wrong: every kind of allow-list entry still passes."""
    from authrelay.config import Settings

    config = tmp_path / "good.toml"
    config.write_text("token_ttl_seconds = 600\n")
    entries = "127.0.0.1/32,::1,10.0.0.0/8,localhost,api.internal,*.corp.example,.svc,fd00::/8"
    settings = Settings(upstream_allowlist=entries, database_url="postgres://u:p@db/x")
    assert settings.allowlist.allows_host("a.corp.example")
    assert settings.allowlist.allows_host("10.2.3.4")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from authrelay.config import Settings; print(Settings().token_ttl_seconds)",
        ],
        env=Backend("sqlite", tmp_path).env(AUTHRELAY_CONFIG_FILE=str(config)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "600", proc.stderr
