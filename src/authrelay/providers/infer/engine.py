"""Putting the pieces together: choose a scheme, pick the base URL, build and validate."""

from __future__ import annotations

from authrelay.providers.infer.common import (
    clean_scopes,
    current_allowlist,
    display_name,
    one_line,
    relative_base,
    title_from_host,
    title_name,
)
from authrelay.providers.infer.docs import DocsFindings, read_docs
from authrelay.providers.infer.openapi import OpenApiFindings, read_openapi
from authrelay.providers.infer.parse import load_structured, to_text
from authrelay.providers.infer.result import BaseUrl, InferenceResult, Scheme
from authrelay.providers.validation import validate_definition
from authrelay_client.wire import AuthPatternBody, InputFieldBody, ProviderDefinitionBody

_PATTERN_NAMES = {
    "OAUTH": ("OAuth 2.0", "OAuth 2.0 authorization-code flow"),
    "BASIC": ("Basic Auth", "HTTP Basic authentication"),
    "BEARER": ("Bearer Token", "a static bearer token"),
    "API_KEY": ("API Key", "an API key"),
}


def run(openapi: str | bytes | None, docs: str | bytes | None, name: str | None) -> InferenceResult:
    result = InferenceResult()
    missing, assumed = result.missing, result.assumptions
    if openapi is None and docs is None:
        missing.append("no OpenAPI document and no docs page were given")
        return result
    doc_found: DocsFindings | None = None
    if docs is not None:
        text = to_text(docs, "docs page", missing, cut=True)
        if text is not None:
            doc_found = read_docs(text, missing, assumed)
    api_found: OpenApiFindings | None = None
    if openapi is not None:
        text = to_text(openapi, "OpenAPI document", missing, cut=False)
        if text is not None:
            doc = load_structured(text, "OpenAPI document", missing)
            if doc is not None:
                hints = [doc_found.text[:2_000_000]] if doc_found else []
                api_found = read_openapi(doc, hints, missing, assumed)

    api_schemes = api_found.schemes if api_found else []
    doc_schemes = doc_found.schemes if doc_found else []
    chosen = _choose(api_schemes) or _choose(doc_schemes)
    for scheme in [*api_schemes, *doc_schemes]:
        if scheme is chosen:
            continue
        if scheme.auth_type is not None and scheme.unsupported is None:
            if chosen is not None and scheme.auth_type == chosen.auth_type:
                result.evidence.append(f"also: {scheme.evidence}")
            else:
                result.alternatives.append(f"{scheme.auth_type}: {scheme.evidence}")
            continue
        reason = scheme.unsupported or "not usable"
        if chosen is not None:
            result.alternatives.append(f"unsupported: {scheme.evidence}")
            assumed.append(f"ignored {scheme.name}: {reason}; used {chosen.auth_type} instead")
        else:
            missing.append(f"{scheme.evidence}: {reason}")
    if chosen is None or chosen.auth_type is None:
        missing.append(
            "no usable auth scheme (OAuth authorization code, bearer, API key in a "
            "header or the query, or basic) was found, so no provider was generated"
        )
        return result
    result.auth_type = chosen.auth_type
    result.evidence.insert(0, chosen.evidence)
    assumed.extend(chosen.notes)

    base = _pick_base(api_found, doc_found, missing)
    result.proxy_url_reason = base.reason
    result.evidence.append(f"proxy_url from {base.reason}")
    title = _title(name, api_found, doc_found, base, missing, assumed)
    description = (api_found.description if api_found else "") or f"Connect to {title}"
    pattern = _pattern(chosen, title, base, missing, assumed)
    provider: ProviderDefinitionBody = {
        "display_name": title,
        "description": one_line(description, 1000),
        "auth_patterns": [pattern],
        "proxy_url": base.url,
        "proxy_enabled": True,
    }
    try:
        validate_definition(provider, current_allowlist())
    except Exception as exc:
        missing.append(f"the inferred definition does not validate ({one_line(str(exc), 500)})")
        return result
    result.provider = provider
    return result


def _choose(schemes: list[Scheme]) -> Scheme | None:
    usable = [s for s in schemes if s.auth_type is not None and s.unsupported is None]
    return min(usable, key=lambda s: s.rank()) if usable else None


def _pick_base(
    api: OpenApiFindings | None, docs: DocsFindings | None, missing: list[str]
) -> BaseUrl:
    api_base = api.base if api else None
    doc_base = docs.base if docs else None
    if api_base is not None and (api_base.host_known or doc_base is None):
        return api_base
    if doc_base is not None:
        if api_base is not None:
            doc_base.reason += " (the OpenAPI document names no host)"
        return doc_base
    missing.append(
        "no base URL was found: proxy_url uses a {{domain}} field for the API host; replace it "
        "with the real host if there is only one"
    )
    return relative_base("", "no base URL in the documents, so the host is a {{domain}} field")


def _title(
    name: str | None,
    api: OpenApiFindings | None,
    docs: DocsFindings | None,
    base: BaseUrl,
    missing: list[str],
    assumed: list[str],
) -> str:
    if name is not None:
        clean = display_name(name)
        if clean:
            if clean != name:
                assumed.append(f"the name {one_line(name, 80)!r} was cleaned to {clean!r}")
            return clean
        missing.append(f"the name {one_line(name, 80)!r} has no letters or digits: not used")
    for raw, where in (
        (api.title if api else None, "the OpenAPI info.title"),
        (docs.title if docs else None, "the docs title"),
    ):
        clean = title_name(raw)
        if clean:
            assumed.append(f"display_name {clean!r} comes from {where}")
            return clean
    from_host = title_from_host(base.url)
    if from_host:
        assumed.append(f"display_name {from_host!r} comes from the API host (no title found)")
        return from_host
    assumed.append("no name or title found: display_name is 'Custom Provider'; pass a name")
    return "Custom Provider"


def _pattern(
    scheme: Scheme, title: str, base: BaseUrl, missing: list[str], assumed: list[str]
) -> AuthPatternBody:
    kind = scheme.auth_type or "BEARER"
    label, how = _PATTERN_NAMES[kind]
    placeholders = [f.copy() for f in base.fields]
    pattern: AuthPatternBody = {
        "type": kind,
        "display_name": label,
        "description": one_line(f"Authenticate with {title} using {how}", 1000),
    }
    if kind == "OAUTH":
        scopes = clean_scopes(scheme.scopes, missing)
        if not scopes:
            missing.append("no OAuth scopes were found: add available_scopes by hand")
        if not scheme.client_credentials:
            assumed.append(
                "PKCE is off and the token endpoint gets client_secret_post (the defaults): "
                "change pkce_enabled/token_auth_method if the provider needs otherwise"
            )
        else:
            assumed.append(
                "the token endpoint gets client_secret_post (the default): change "
                "token_auth_method if the provider needs otherwise"
            )
            assumed.append(
                "client-credentials grant: one API client per connection (set client_id and "
                "client_secret on the connection); add client_id and client_secret fields to "
                "let each account bring its own"
            )
            pattern["description"] = one_line(
                f"Authenticate with {title} using the OAuth 2.0 client-credentials grant", 1000
            )
            pattern["fields"] = placeholders
            pattern["oauth_config"] = {
                "grant_type": "client_credentials",
                "token_uri": scheme.token_uri,
                "available_scopes": scopes,
            }
            return pattern
        pattern["fields"] = []
        pattern["account_fields"] = placeholders
        pattern["oauth_config"] = {
            "authorize_uri": scheme.authorize_uri,
            "token_uri": scheme.token_uri,
            "available_scopes": scopes,
        }
        return pattern
    fields = placeholders
    if kind == "BASIC":
        if scheme.username_only:
            fields.append(_secret("username", "API Key", "Your API key (sent as the user name)"))
            assumed.append("no password field: the password is sent empty")
        else:
            fields.append(
                {
                    "field_name": "username",
                    "label": "Username",
                    "input_type": "text",
                    "hint": "Your user name",
                    "required": True,
                }
            )
            fields.append(_secret("password", "Password", "Your password"))
    elif kind == "BEARER":
        fields.append(_secret("token", "Bearer Token", "Your API token"))
    else:
        fields.append(_secret("api_key", "API Key", api_key_hint(title)))
        if scheme.query_param:
            pattern["auth_query_param"] = scheme.query_param
        elif scheme.header:
            pattern["auth_header_key_override"] = scheme.header
        if scheme.prefix:
            pattern["auth_field_mutations"] = {"api_key": {"prefix": scheme.prefix}}
    pattern["fields"] = fields
    return pattern


def api_key_hint(title: str) -> str:
    """ "Your Echo API key" for "Echo API", "Your Stripe API key" for "Stripe"."""
    words = title.split()
    if words and words[-1].lower() == "api":
        words = words[:-1]
    name = " ".join(words)
    return f"Your {name} API key" if name else "Your API key"


def _secret(name: str, label: str, hint: str) -> InputFieldBody:
    return {
        "field_name": name,
        "label": label,
        "input_type": "password",
        "hint": one_line(hint, 500),
        "required": True,
    }
