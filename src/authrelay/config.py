"""Server settings: one validated class, built once at start and passed to `create_app`.

Every setting is read from an ``AUTHRELAY_*`` environment variable (``DATABASE_URL`` has no
prefix, as is customary) or from an optional TOML file named by ``AUTHRELAY_CONFIG_FILE``.
docs/configuration.md lists them all; a test keeps that list complete.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authrelay_client.providers.allowlist import UpstreamAllowlist, allowlist_entry_problem


class ConfigError(Exception):
    """A setting is wrong in a way pydantic does not see (a missing file, for instance)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


_DATABASE_SCHEMES = (
    "postgres://",
    "postgresql://",
    "postgresql+asyncpg://",
    "sqlite:///",
    "sqlite+aiosqlite:///",
)


def _check_config_file(path: Path) -> None:
    if not path.is_file():
        raise ConfigError("AUTHRELAY_CONFIG_FILE", f"{path} does not exist or is not a file")
    try:
        with path.open("rb") as handle:
            tomllib.load(handle)
    except OSError as exc:
        raise ConfigError("AUTHRELAY_CONFIG_FILE", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("AUTHRELAY_CONFIG_FILE", f"{path} is not valid TOML: {exc}") from None


def describe_validation_error(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming the environment variable and never quoting a value
    (values can be secrets: master keys, database passwords)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else "settings"
        field = Settings.model_fields.get(name)
        if name == "database_url":
            variable = "DATABASE_URL"
        elif field is not None or name.isidentifier():
            variable = "AUTHRELAY_" + name.upper()
        else:
            variable = name
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            variable, message = f"{name} (in AUTHRELAY_CONFIG_FILE)", "is not a known setting"
        lines.append(f"{variable}: {message}")
    return lines


def default_data_dir() -> Path:
    """One location per user, whatever the working folder: $XDG_DATA_HOME/authrelay, else
    ~/.local/share/authrelay (AUTHRELAY_DATA_DIR or --data-dir choose another)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "authrelay"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHRELAY_", extra="forbid", populate_by_name=True, frozen=True
    )

    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "AUTHRELAY_DATABASE_URL")
    )
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    upstream_allowlist: str = ""
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    master_keys: SecretStr | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: str = "INFO"
    cache_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    last_used_flush_seconds: float = Field(default=5.0, gt=0, le=3600)
    tool_call_log_flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    tool_call_log_queue_max: int = Field(default=10_000, ge=1, le=10_000_000)
    tool_call_log_retention_days: int = Field(default=30, ge=1, le=36_500)
    gc_full_collection_seconds: float = Field(default=60.0, ge=0, le=3600)
    proxy_connect_timeout: float = Field(default=10.0, gt=0)
    proxy_read_timeout: float = Field(default=60.0, gt=0)
    proxy_follow_redirects: bool = False
    proxy_ca_file: Path | None = None
    link_ttl_seconds: int = Field(default=600, ge=30, le=7 * 86400)
    refresh_margin_seconds: float = Field(default=60.0, ge=0)
    retry_body_limit: int = Field(default=1_048_576, ge=0)
    # Hostile clients (docs/configuration.md, "Limits and timeouts"); per worker process.
    header_timeout: float = Field(default=10.0, gt=0, le=3600)
    body_idle_timeout: float = Field(default=30.0, gt=0, le=3600)
    body_timeout: float = Field(default=300.0, gt=0, le=86400)
    keepalive_timeout: int = Field(default=5, ge=1, le=3600)
    max_connections: int = Field(default=1000, ge=1)
    max_requests_in_flight: int = Field(default=500, ge=1)
    max_discard_bytes: int = Field(default=33_554_432, ge=0)
    max_header_bytes: int = Field(default=65_536, ge=1024)
    # HTTP/2 (authrelay.http2; docs/configuration.md, "TLS and HTTP/2").
    http2_max_concurrent_streams: int = Field(default=100, ge=1, le=10_000)
    http2_window_bytes: int = Field(default=1_048_576, ge=65_535, le=2**31 - 1)
    http2_max_reset_streams: int = Field(default=200, ge=1)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    grpc_max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_tools_per_provider: int = Field(default=1000, ge=1, le=100_000)
    list_count_limit: int = Field(default=1000, ge=0)
    dashboard_session_idle_seconds: int = Field(default=1800, ge=1, le=7 * 86400)
    dashboard_signin_max_failures: int = Field(default=5, ge=1)
    dashboard_signin_address_max_failures: int = Field(default=20, ge=1)
    dashboard_signin_window_seconds: int = Field(default=900, ge=1)
    proxy_cache_max_entries: int = Field(default=100_000, ge=1)
    proxy_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=65_536)
    provider_cache_max_entries: int = Field(default=1_000, ge=1)
    provider_cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=65_536)
    tool_cache_max_entries: int = Field(default=10_000, ge=1)
    tool_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=65_536)
    mcp_allowed_origins: str = ""  # browser origins allowed on /mcp/… besides our own
    # Tests only: every built-in provider's proxy_url becomes `{this}/{identifier}`.
    builtin_upstream_override: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("AUTHRELAY_CONFIG_FILE")
        if config_file:
            _check_config_file(Path(config_file))
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("mcp_allowed_origins")
    @classmethod
    def _mcp_allowed_origins(cls, value: str) -> str:
        for entry in (e.strip().rstrip("/") for e in value.split(",")):
            scheme, _, rest = entry.partition("://")
            if entry and (scheme not in ("http", "https") or not rest or "/" in rest):
                raise ValueError(f"{entry!r} is not an origin (scheme://host[:port])")
        return value

    @field_validator("builtin_upstream_override")
    @classmethod
    def _builtin_upstream_override(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (or be empty)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(_DATABASE_SCHEMES):
            scheme = value.split(":", 1)[0] if ":" in value else "(none)"
            raise ValueError(
                f"unsupported scheme {scheme!r}; use postgresql://user:pass@host/db "
                "or sqlite:///path/to/file.db"
            )
        return value

    @field_validator("upstream_allowlist")
    @classmethod
    def _upstream_allowlist(cls, value: str) -> str:
        problems = [
            problem
            for entry in value.split(",")
            if entry.strip()
            and (problem := allowlist_entry_problem(entry.strip().lower())) is not None
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @cached_property
    def allowlist(self) -> UpstreamAllowlist:
        return UpstreamAllowlist(self.upstream_allowlist.split(","))

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: DATABASE_URL, or SQLite in the data directory."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'authrelay.db'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    @property
    def base_url(self) -> str:
        """The external URL of the server, used in links and printed environment URLs."""
        if self.public_url:
            return self.public_url
        host = self.host if self.host not in {"0.0.0.0", "::"} else "127.0.0.1"  # noqa: S104
        scheme = "https" if self.tls_cert_file is not None else "http"
        return f"{scheme}://{host}:{self.port}"
