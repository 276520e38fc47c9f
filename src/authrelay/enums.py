"""Wire enums (names as Scalekit's API spells them) and how pattern types map onto them."""

from __future__ import annotations

from typing import Any

from authrelay.errors import InvalidArgument

CONNECTION_TYPES = {
    "INVALID": 0,
    "OIDC": 1,
    "SAML": 2,
    "PASSWORD": 3,
    "OAUTH": 4,
    "PASSWORDLESS": 5,
    "BASIC": 6,
    "BEARER": 7,
    "API_KEY": 8,
    "WEBAUTHN": 9,
    "OAUTH_M2M": 10,
    "TRELLO_OAUTH1": 11,
    "GOOGLE_DWD": 12,
    "TRUSTED_IDP": 13,
    "SMART_FHIR": 14,
    "NO_AUTH": 15,
    # authrelay's own (SPEC §3a), numbered clear of Scalekit's range
    "TOKEN_EXCHANGE": 100,
}
AUTH_MODES = {"USER": 1, "ORG_WIDE": 2}

#: pattern type (SPEC §3) → ConnectorType name used as `authorization_type`
AUTHORIZATION_TYPE = {
    "OAUTH": "OAUTH",
    "API_KEY": "API_KEY",
    "BASIC": "BASIC",
    "BEARER": "BEARER_TOKEN",
    "TOKEN_EXCHANGE": "TOKEN_EXCHANGE",
}
#: the ConnectionType names that select a pattern type
PATTERN_TYPES = {"OAUTH", "BASIC", "BEARER", "API_KEY", "TOKEN_EXCHANGE"}


def enum_name(value: Any, table: dict[str, int], field: str) -> str:
    """Accept an enum by name or number, as grpc-gateway does; return the name."""
    if isinstance(value, bool):
        raise InvalidArgument.field(field, f"must be one of {', '.join(table)}")
    if isinstance(value, int):
        for name, number in table.items():
            if number == value:
                return name
    if isinstance(value, str):
        if value.upper() in table:
            return value.upper()
        if value.isdigit():
            return enum_name(int(value), table, field)
    raise InvalidArgument.field(field, f"must be one of {', '.join(table)}")
