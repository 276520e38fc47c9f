"""CLI profiles: an environment URL and client credentials under a name (`dev`, `prod`, …).

Stored under ``AUTHRELAY_CONFIG_DIR`` (default ``~/.config/authrelay``): ``profiles.json``
holds names, URLs, client ids and flags; each client secret is a file of its own with mode
0600 in ``secrets/`` (or is read from an environment variable the profile names).
Resolution for a command: ``--profile NAME``; else ``AUTHRELAY_ENVIRONMENT_URL`` /
``_CLIENT_ID`` / ``_CLIENT_SECRET`` (or Scalekit's ``SCALEKIT_*`` names) when set; else the
current profile (``authrelay profile use NAME``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from authrelay_client._exceptions import ConfigurationError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProfileError(Exception):
    """A profile is missing, malformed or incomplete."""


@dataclass
class Profile:
    name: str
    env_url: str
    client_id: str
    protected: bool = False
    secret_env: str | None = None  # read the secret from this variable instead of a file

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Credentials:
    env_url: str
    client_id: str
    client_secret: str
    profile: Profile | None = None

    def __repr__(self) -> str:
        return f"Credentials({self.env_url!r}, {self.client_id!r}, '[secure]')"


def config_dir() -> Path:
    configured = os.environ.get("AUTHRELAY_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".config" / "authrelay"


class ProfileStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or config_dir()
        self.file = self.root / "profiles.json"

    def _load(self) -> dict[str, Any]:
        if not self.file.exists():
            return {"current": None, "profiles": {}}
        try:
            data = json.loads(self.file.read_text())
        except ValueError as exc:
            raise ProfileError(f"{self.file} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
            raise ProfileError(f"{self.file} is not a profiles file")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.file)

    def _secret_path(self, name: str) -> Path:
        return self.root / "secrets" / name

    def add(self, profile: Profile, secret: str | None) -> None:
        if not _NAME.match(profile.name):
            raise ProfileError("profile names use letters, digits, '.', '_' and '-'")
        if not profile.env_url.startswith(("http://", "https://")):
            raise ProfileError("--env-url must start with http:// or https://")
        if secret is None and profile.secret_env is None:
            raise ProfileError("no client secret: type it, pipe it in, or --client-secret-env")
        data = self._load()
        data["profiles"][profile.name] = profile.public()
        if data.get("current") is None:
            data["current"] = profile.name
        if secret is not None:
            folder = self.root / "secrets"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self._secret_path(profile.name)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secret)
            os.replace(tmp, path)
        self._save(data)

    def remove(self, name: str) -> None:
        data = self._load()
        if name not in data["profiles"]:
            raise ProfileError(f"no profile named {name!r}")
        del data["profiles"][name]
        if data.get("current") == name:
            data["current"] = next(iter(data["profiles"]), None)
        self._secret_path(name).unlink(missing_ok=True)
        self._save(data)

    def use(self, name: str) -> None:
        data = self._load()
        if name not in data["profiles"]:
            raise ProfileError(f"no profile named {name!r} (see: authrelay profile list)")
        data["current"] = name
        self._save(data)

    def list(self) -> tuple[list[Profile], str | None]:
        data = self._load()
        profiles = [Profile(**p) for p in data["profiles"].values()]
        return profiles, data.get("current")

    def get(self, name: str) -> Profile:
        data = self._load()
        raw = data["profiles"].get(name)
        if raw is None:
            raise ProfileError(f"no profile named {name!r} (see: authrelay profile list)")
        return Profile(**raw)

    def secret(self, profile: Profile) -> str:
        if profile.secret_env:
            value = os.environ.get(profile.secret_env)
            if not value:
                raise ProfileError(
                    f"profile {profile.name!r} reads its secret from "
                    f"${profile.secret_env}, which is not set"
                )
            return value
        path = self._secret_path(profile.name)
        if not path.exists():
            raise ProfileError(f"profile {profile.name!r} has no stored client secret")
        return path.read_text().strip()

    def credentials(self, name: str | None) -> Credentials:
        """Credentials for a command: --profile, else environment variables, else current."""
        if name:
            profile = self.get(name)
            return Credentials(profile.env_url, profile.client_id, self.secret(profile), profile)
        env = _from_environment()
        if env is not None:
            return env
        _, current = self.list()
        if current is None:
            raise ProfileError(
                "no credentials: add a profile (authrelay profile add NAME --env-url … "
                "--client-id …, or authrelay env create-client ENV --save-profile NAME) or "
                "set AUTHRELAY_ENVIRONMENT_URL, "
                "AUTHRELAY_CLIENT_ID and AUTHRELAY_CLIENT_SECRET (or the SCALEKIT_* names)"
            )
        return self.credentials(current)


def environment_source() -> dict[str, str] | None:
    """The environment variables that are in effect (when complete), for `profile list`."""
    found = _from_environment()
    if found is None:
        return None
    prefix = "AUTHRELAY" if os.environ.get("AUTHRELAY_ENVIRONMENT_URL") else "SCALEKIT"
    return {"variables": f"{prefix}_*", "env_url": found.env_url, "client_id": found.client_id}


def _from_environment() -> Credentials | None:
    """The SDK's own environment lookup (AUTHRELAY_* or SCALEKIT_* names), when complete."""
    try:
        from authrelay_client._auth import Credentials as ClientCredentials

        found = ClientCredentials.resolve(None, None, None)
    except ConfigurationError as exc:
        if "must start with" in str(exc):  # all set, but the URL is unusable: say so
            raise ProfileError(f"AUTHRELAY_/SCALEKIT_ENVIRONMENT_URL: {exc}") from None
        return None
    return Credentials(found.env_url, found.client_id, found.client_secret)
