"""The built-in provider catalog, shipped as JSON files in `catalog/` and validated by the
same rules as custom providers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from authrelay.errors import InvalidArgument
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.identifiers import builtin_provider_id, derive_identifier
from authrelay_client.providers.model import ProviderDefinition

_CATALOG_ONLY_KEYS = ("categories", "display_priority")


@dataclass(frozen=True)
class BuiltinProvider:
    identifier: str
    definition: ProviderDefinition
    categories: list[str]
    display_priority: int
    etag: str


class CatalogError(Exception):
    """Raised at start when a catalog file is not a valid provider definition."""


def parse_catalog_entry(name: str, data: Any) -> BuiltinProvider:
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: not a JSON object")
    body = dict(data)
    categories = body.pop("categories", [])
    priority = body.pop("display_priority", 100)
    try:
        definition = validate_definition(body, UpstreamAllowlist([]))
    except InvalidArgument as exc:
        raise CatalogError(f"{name}: {exc.message}") from exc
    identifier = derive_identifier(definition.display_name)
    canonical = json.dumps(definition.public(), sort_keys=True).encode()
    return BuiltinProvider(
        identifier=identifier,
        definition=definition,
        categories=[str(c) for c in categories],
        display_priority=int(priority),
        etag="b-" + hashlib.sha256(canonical).hexdigest()[:16],
    )


class Catalog:
    """Built-in providers in display order (display_priority, then identifier)."""

    def __init__(self, entries: list[BuiltinProvider]) -> None:
        self.entries = sorted(entries, key=lambda e: (e.display_priority, e.identifier))
        self.by_identifier = {e.identifier: e for e in self.entries}
        if len(self.by_identifier) != len(self.entries):
            raise CatalogError("two catalog files derive the same identifier")

    def get(self, identifier: str) -> BuiltinProvider | None:
        return self.by_identifier.get(identifier)

    @staticmethod
    def provider_id(identifier: str) -> str:
        return builtin_provider_id(identifier)


def load_catalog(upstream_override: str = "") -> Catalog:
    """The shipped catalog. `upstream_override` (tests only, AUTHRELAY_BUILTIN_UPSTREAM_OVERRIDE)
    replaces every built-in provider's proxy_url with `{override}/{identifier}`, so a local
    recording upstream can stand in for the real APIs."""
    folder = resources.files("authrelay.providers") / "catalog"
    entries: list[BuiltinProvider] = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".json"):
            continue
        try:
            data = json.loads(item.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CatalogError(f"{item.name}: invalid JSON ({exc})") from exc
        entry = parse_catalog_entry(item.name, data)
        if item.name != f"{entry.identifier}.json":
            raise CatalogError(f"{item.name}: should be named {entry.identifier}.json")
        if upstream_override:
            url = f"{upstream_override}/{entry.identifier}"
            entry = replace(
                entry, definition=entry.definition.model_copy(update={"proxy_url": url})
            )
        entries.append(entry)
    return Catalog(entries)
