"""Server settings: one validated class, built once at start and passed to `create_app`.

Every setting is read from an ``AUTHRELAY_*`` environment variable (``DATABASE_URL`` has no
prefix, as is customary) or from an optional TOML file named by ``AUTHRELAY_CONFIG_FILE``.
docs/configuration.md lists them all; a test keeps that list complete.
"""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UpstreamAllowlist:
    """Hosts and CIDR ranges that may be reached over plain http:// or at private addresses."""

    def __init__(self, entries: list[str]) -> None:
        self.entries = entries
        self.hosts: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                self.suffixes.append(entry[1:])
            elif entry.startswith("."):
                self.suffixes.append(entry)
            else:
                self.hosts.add(entry)

    def allows_host(self, host: str) -> bool:
        """True when a host name or IP literal is named by the list."""
        name = host.strip("[]").lower().rstrip(".")
        if name in self.hosts or any(name.endswith(s) for s in self.suffixes):
            return True
        try:
            return self.allows_ip(ipaddress.ip_address(name))
        except ValueError:
            return False

    def allows_ip(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)

    def __repr__(self) -> str:
        return f"UpstreamAllowlist({self.entries!r})"


class AllowAnyHost(UpstreamAllowlist):
    """For re-reading definitions that were validated when stored: URL rules already held."""

    def __init__(self) -> None:
        super().__init__([])

    def allows_host(self, host: str) -> bool:
        return True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHRELAY_", extra="forbid", populate_by_name=True, frozen=True
    )

    data_dir: Path = Field(default=Path("data"))
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
    proxy_connect_timeout: float = Field(default=10.0, gt=0)
    proxy_read_timeout: float = Field(default=60.0, gt=0)
    proxy_follow_redirects: bool = False
    proxy_ca_file: Path | None = None
    link_ttl_seconds: int = Field(default=600, ge=30, le=7 * 86400)
    refresh_margin_seconds: float = Field(default=60.0, ge=0)
    retry_body_limit: int = Field(default=1_048_576, ge=0)
    proxy_cache_max_entries: int = Field(default=100_000, ge=1)
    proxy_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=65_536)
    provider_cache_max_entries: int = Field(default=1_000, ge=1)
    provider_cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=65_536)

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
        return f"http://{host}:{self.port}"
