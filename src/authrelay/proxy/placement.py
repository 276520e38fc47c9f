"""Where a request carries its credential and extra headers (SPEC §3a): `proxy_headers`
templates filled from the account, and `auth_query_param`. Worked out once per route (when
it is loaded), never per request; routes of providers that use neither skip all of it."""

from __future__ import annotations

from urllib.parse import quote, unquote

from authrelay.errors import AuthrelayError
from authrelay.providers.injection_rules import CREDENTIAL_VALUES, places_credential
from authrelay.proxy.inject import mutate
from authrelay_client.codes import Code
from authrelay_client.providers.model import AuthPattern, ProviderDefinition
from authrelay_client.providers.urls import PLACEHOLDER

Headers = tuple[tuple[str, str], ...]


class HeaderRejected(AuthrelayError):
    """A `proxy_headers` template filled from the account holds CR, LF or NUL: the call is
    refused before any upstream request (the value is never quoted)."""

    code = Code.INVALID_ARGUMENT
    http_status = Code.INVALID_ARGUMENT.http_status


def template_values(
    pattern: AuthPattern, secrets: dict[str, str], values: dict[str, str]
) -> dict[str, str]:
    """What `{{field}}` may name: the account's values, with the credential mutated as the
    default injection would mutate it (auth_field_mutations), but without its "Bearer "."""
    out = dict(values)
    m = pattern.auth_field_mutations
    for name in CREDENTIAL_VALUES.get(pattern.type, frozenset()):
        if m is None:
            mutation = None
        elif name in ("token", "access_token"):
            mutation = m.token
        else:
            mutation = getattr(m, name)
        out[name] = mutate(secrets.get(name, ""), mutation)
    return out


def merged_templates(definition: ProviderDefinition, pattern: AuthPattern) -> dict[str, str]:
    """The provider's headers, then the pattern's (the pattern wins on a name, in any case)."""
    out: dict[str, tuple[str, str]] = {}
    for source in (definition.proxy_headers or {}, pattern.proxy_headers or {}):
        for name, template in source.items():
            out[name.lower()] = (name, template)
    return dict(out.values())


def fill_headers(templates: dict[str, str], values: dict[str, str]) -> Headers:
    """Filled headers; a template whose value comes out empty (an optional field left
    blank) is not sent. Raises HeaderRejected when a value holds CR, LF or NUL."""
    out: list[tuple[str, str]] = []
    for name, template in templates.items():
        value = PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), template)
        if "\r" in value or "\n" in value or "\x00" in value:
            raise HeaderRejected(
                f"proxy_headers {name!r}: the value filled from the connected account holds "
                "CR, LF or NUL characters and cannot be sent; update the connected account"
            )
        if value:
            out.append((name, value))
    return tuple(out)


def request_headers(
    definition: ProviderDefinition,
    pattern: AuthPattern,
    credential: tuple[str, str] | None,
    secrets: dict[str, str],
    values: dict[str, str],
) -> tuple[Headers, Headers]:
    """(headers every call gets, defaults). The first: the default credential header (None:
    it goes in the query) unless the templates place the credential, and the templates
    filled from the account. Defaults are templates without placeholders (a fixed value such
    as `Notion-Version`): sent when the caller did not send that header itself. Either kind
    under the credential header's name gives way to the credential."""
    templates = merged_templates(definition, pattern)
    if not templates:
        return ((credential,) if credential else ()), ()
    filled = fill_headers(
        {n: t for n, t in templates.items() if PLACEHOLDER.search(t)},
        template_values(pattern, secrets, values),
    )
    defaults = tuple((n, t) for n, t in templates.items() if t and not PLACEHOLDER.search(t))
    if credential is None or places_credential(pattern.type, templates):
        return filled, defaults
    taken = credential[0].lower()
    return (
        (credential, *(h for h in filled if h[0].lower() != taken)),
        tuple(h for h in defaults if h[0].lower() != taken),
    )


def with_defaults(forward: list[tuple[str, str]], defaults: Headers) -> list[tuple[str, str]]:
    """The caller's headers plus each default header the caller did not send."""
    sent = {name.lower() for name, _ in forward}
    return forward + [h for h in defaults if h[0].lower() not in sent]


def query_pair(name: str, value: str) -> str:
    """`name=value` for the query string, the value percent-encoded."""
    return f"{name}={quote(value, safe='')}"


def with_credential(query: str, name: str, pair: str) -> str:
    """The caller's query without any parameter called `name`, then the credential."""
    kept = [
        part
        for part in query.split("&")
        if part and unquote(part.partition("=")[0].replace("+", " ")) != name
    ]
    kept.append(pair)
    return "&".join(kept)
