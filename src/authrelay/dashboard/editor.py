"""The JSON editor's side on the server: parse the text, and place each error on a line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from authrelay.errors import AuthrelayError

EMPTY_TEMPLATE: dict[str, Any] = {
    "display_name": "",
    "description": "",
    "proxy_url": "https://api.example.com",
    "proxy_enabled": True,
    "auth_patterns": [
        {
            "type": "API_KEY",
            "fields": [
                {"field_name": "api_key", "label": "API key", "input_type": "password"},
            ],
        }
    ],
}
EXAMPLE: dict[str, Any] = {
    "display_name": "Example CRM",
    "description": "A CRM reached with OAuth 2.0 (authorization code).",
    "proxy_url": "https://api.example-crm.com/v1",
    "proxy_enabled": True,
    "auth_patterns": [
        {
            "type": "OAUTH",
            "fields": [],
            "oauth_config": {
                "authorize_uri": "https://example-crm.com/oauth/authorize",
                "token_uri": "https://example-crm.com/oauth/token",
                "available_scopes": [
                    {"scope": "contacts.read", "required": True},
                    {"scope": "contacts.write"},
                ],
            },
        }
    ],
}
_SEGMENT = re.compile(r"[^.\[\]]+")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    line: int | None


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def parse(text: str) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [Problem("definition", f"not valid JSON: {exc.msg}", exc.lineno)]


def locate(text: str, field: str) -> int | None:
    """The line of a field path like ``auth_patterns[0].oauth_config.token_uri``: each named
    part is looked up after the previous one, so the nearest match in order wins."""
    position = 0
    found: int | None = None
    for part in _SEGMENT.findall(field):
        if part.isdigit():
            continue
        at = text.find(json.dumps(part) + ":", position)
        if at < 0:
            at = text.find(json.dumps(part), position)
        if at < 0:
            break
        position, found = at, at
    return None if found is None else text.count("\n", 0, found) + 1


def problems_of(text: str, exc: AuthrelayError) -> list[Problem]:
    if not exc.violations:
        return [Problem("", exc.message, None)]
    return [Problem(v.field, v.description, locate(text, v.field)) for v in exc.violations]
