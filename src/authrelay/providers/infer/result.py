"""What inference produces: candidate auth schemes, the base URL, and the final result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from authrelay_client.wire import InputFieldBody, ProviderDefinitionBody

AuthType = Literal["OAUTH", "BASIC", "BEARER", "API_KEY"]

# The scheme-choice rule (lower wins): see the package docstring.
RANK: dict[str, int] = {"OAUTH": 0, "BEARER": 1, "API_KEY": 2, "BASIC": 3, "QUERY_KEY": 4}


@dataclass
class Scope:
    scope: str
    description: str = ""
    required: bool = False


@dataclass
class Scheme:
    """One way to authenticate found in a document (usable or not)."""

    name: str  # where it was found, e.g. "securitySchemes.oauth" or "curl example"
    auth_type: AuthType | None  # None: found, but the proxy model cannot use it
    evidence: str
    header: str | None = None  # API_KEY: the header carrying the key
    prefix: str | None = None  # API_KEY: text before the key ("Token ")
    query_param: str | None = None  # API_KEY: the query parameter carrying the key
    username_only: bool = False  # BASIC: an API key as user name, empty password
    authorize_uri: str | None = None
    token_uri: str | None = None
    client_credentials: bool = False  # OAUTH: the client-credentials grant
    scopes: list[Scope] = field(default_factory=list)
    unsupported: str | None = None  # why the proxy model cannot use it, and what to do
    notes: list[str] = field(default_factory=list)  # assumptions made reading it
    order: int = 0  # position in the document, the tie-breaker

    def rank(self) -> tuple[int, int]:
        # A key in the query comes after every header scheme: upstreams log URLs.
        kind = "QUERY_KEY" if self.query_param else self.auth_type or ""
        return (RANK.get(kind, 99), self.order)

    def label(self) -> str:
        kind = self.auth_type or "unsupported"
        return f"{kind} ({self.name})"


@dataclass
class BaseUrl:
    """The proxy_url template and the fields its placeholders need."""

    url: str  # with {{placeholders}}
    fields: list[InputFieldBody] = field(default_factory=list)
    reason: str = ""
    host_known: bool = True  # False: the host is a {{domain}} field because no document named it


class InferenceJson(TypedDict):
    """What `providers infer --json` prints."""

    provider: ProviderDefinitionBody | None
    auth_type: AuthType | None
    evidence: list[str]
    assumptions: list[str]
    missing: list[str]
    alternatives: list[str]


@dataclass
class InferenceResult:
    provider: ProviderDefinitionBody | None = None
    auth_type: AuthType | None = None
    evidence: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    proxy_url_reason: str = ""

    def as_json(self) -> InferenceJson:
        return {
            "provider": self.provider,
            "auth_type": self.auth_type,
            "evidence": list(self.evidence),
            "assumptions": list(self.assumptions),
            "missing": list(self.missing),
            "alternatives": list(self.alternatives),
        }

    def to_json_text(self) -> str:
        return json.dumps(self.as_json(), indent=2)

    def summary(self) -> str:
        """A short human summary: auth type with evidence, fields, proxy_url and why, gaps."""
        lines: list[str] = []
        if self.auth_type is None or self.provider is None:
            lines.append("No usable auth scheme was inferred.")
        else:
            lines.append(f"Inferred auth type: {self.auth_type}")
        for item in self.evidence:
            lines.append(f"  evidence: {item}")
        if self.provider is not None:
            pattern = self.provider["auth_patterns"][0]
            names = [f["field_name"] for f in pattern.get("fields", [])]
            names += [f["field_name"] + " (account)" for f in pattern.get("account_fields", [])]
            lines.append(f"Tracked fields: {', '.join(names) if names else '(none)'}")
            override = pattern.get("auth_header_key_override")
            if override:
                lines.append(f"Credential header: {override}")
            query = pattern.get("auth_query_param")
            if query:
                lines.append(f"Credential query parameter: {query}")
            scopes = (pattern.get("oauth_config") or {}).get("available_scopes") or []
            if scopes:
                lines.append(f"Scopes: {', '.join(s['scope'] for s in scopes)}")
            lines.append(f"proxy_url: {self.provider['proxy_url']}")
        if self.proxy_url_reason:
            lines.append(f"  why: {self.proxy_url_reason}")
        if self.alternatives:
            lines.append("Other schemes found (not used):")
            lines.extend(f"  - {alt}" for alt in self.alternatives)
        if self.assumptions:
            lines.append("Assumed:")
            lines.extend(f"  - {a}" for a in self.assumptions)
        if self.missing:
            lines.append("Missing or unreadable:")
            lines.extend(f"  - {m}" for m in self.missing)
        return "\n".join(lines)
