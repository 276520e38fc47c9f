"""Reading an OpenAPI 2.0 (Swagger) or 3.0/3.1 document: security schemes and the base URL.

Security schemes map to auth types as follows (anything else is reported as unsupported):

* 3.x ``oauth2`` with ``flows.authorizationCode`` / 2.0 ``oauth2`` with ``flow: accessCode``
  → ``OAUTH`` (authorize and token URLs, scopes with their descriptions as display names);
  without those, ``flows.clientCredentials`` / ``flow: application`` → ``OAUTH`` with
  ``grant_type: client_credentials`` (the token URL and scopes);
* 3.x ``http`` ``basic`` / 2.0 ``basic`` → ``BASIC``; 3.x ``http`` ``bearer`` → ``BEARER``;
* ``apiKey`` ``in: header`` → ``API_KEY`` (``auth_header_key_override`` unless the header is
  ``Authorization``; a prefix mutation when a description or the docs show
  ``Header: Prefix <key>``);
* ``apiKey`` ``in: query`` → ``API_KEY`` with ``auth_query_param`` (the parameter's name);
* ``apiKey`` in a cookie, other OAuth flows (implicit, password), OpenID Connect discovery
  and mutual TLS are reported as unsupported by the proxy model, with what to do instead.

The base URL comes from ``servers[0]`` (3.x; a variable that is a whole label of the host
becomes a host-label placeholder field of its own name, e.g. ``{{subdomain}}.zendesk.com``,
other variables in the host a ``{{domain}}`` field, version-like path variables a
``{{version}}`` field, other path variables path-parameter fields) or
``schemes``/``host``/``basePath`` (2.0); the longest common path prefix shared by every path
(strictly shorter than each path) is appended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from authrelay.providers.infer.common import (
    allowed_http,
    common_prefix,
    current_allowlist,
    domain_field,
    field_name,
    find_prefix,
    header_problem,
    https,
    is_version,
    join_path,
    one_line,
    relative_base,
    safe_path,
    static_host,
)
from authrelay.providers.infer.result import BaseUrl, Scheme, Scope
from authrelay_client.providers.model import QUERY_PARAM_NAME
from authrelay_client.providers.urls import PLACEHOLDER, check_upstream_url, host_placeholders
from authrelay_client.wire import InputFieldBody, JSONObject

_VARIABLE = re.compile(r"\{([^{}]{1,100})\}")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,20}|\{[^{}]{1,100}\})://([^/?#]*)([^?#]*)")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")


@dataclass
class OpenApiFindings:
    schemes: list[Scheme] = field(default_factory=list)
    base: BaseUrl | None = None
    title: str | None = None
    description: str = ""
    evidence: list[str] = field(default_factory=list)


def _dict(value: Any) -> JSONObject:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if isinstance(k, str)}
    return {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _valid_upstream(url: str) -> bool:
    try:
        check_upstream_url(url, current_allowlist(), allow_query=True)
    except ValueError:
        return False
    return True


def read_openapi(
    doc: Any, hints: list[str], missing: list[str], assumed: list[str]
) -> OpenApiFindings:
    found = OpenApiFindings()
    root = _dict(doc)
    if not root:
        missing.append("the OpenAPI document is not a JSON/YAML object")
        return found
    swagger = _str(root.get("swagger")) or (
        "2.0" if isinstance(root.get("swagger"), int | float) else ""
    )
    openapi = _str(root.get("openapi"))
    v2 = swagger.startswith("2") or ("securityDefinitions" in root and not openapi)
    if not swagger and not openapi:
        if "paths" not in root and "components" not in root and "securityDefinitions" not in root:
            missing.append("the document has no 'openapi' or 'swagger' version and no paths")
            return found
        assumed.append(
            f"the document names no OpenAPI version; read it as OpenAPI {'2.0' if v2 else '3.x'}"
        )
    info = _dict(root.get("info"))
    found.title = one_line(info.get("title"), 200) or None
    found.description = one_line(info.get("description"), 300)
    texts = [_str(info.get("description"))[:200_000], *hints]

    found.base = _base_v2(root, missing, assumed) if v2 else _base_v3(root, missing, assumed)
    paths = list(_dict(root.get("paths")).keys())[:100_000]
    prefix = common_prefix(paths)
    if found.base is not None and prefix:
        found.base.url = join_path(found.base.url, prefix)
        found.base.reason += f"; every path starts with {prefix}, so it is part of proxy_url"

    required = _required_scopes(root.get("security"))
    if v2:
        schemes = _dict(root.get("securityDefinitions"))
        where = "securityDefinitions"
    else:
        schemes = _dict(_dict(root.get("components")).get("securitySchemes"))
        where = "components.securitySchemes"
    if not schemes:
        missing.append(f"the document declares no security schemes ({where} is empty or absent)")
    for order, (name, raw) in enumerate(list(schemes.items())[:50]):
        spec = _dict(raw)
        scheme = _scheme(f"{where}.{name[:60]}", name, spec, v2, texts, found.base, required)
        scheme.order = order
        found.schemes.append(scheme)
    return found


def _required_scopes(security: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    if isinstance(security, list):
        for requirement in security[:50]:
            for name, scopes in _dict(requirement).items():
                if isinstance(scopes, list):
                    out.setdefault(name, set()).update(
                        s for s in scopes[:500] if isinstance(s, str)
                    )
    return out


def _scheme(
    where: str,
    name: str,
    spec: JSONObject,
    v2: bool,
    texts: list[str],
    base: BaseUrl | None,
    required: dict[str, set[str]],
) -> Scheme:
    kind = _str(spec.get("type")).strip()
    description = _str(spec.get("description"))[:100_000]
    all_texts = [description, *texts]
    lowered = kind.lower()
    if lowered == "basic" and v2:
        return Scheme(where, "BASIC", f"{where}: type basic")
    if lowered == "http":
        http = _str(spec.get("scheme")).strip().lower()
        if http == "basic":
            return Scheme(where, "BASIC", f"{where}: type http, scheme basic")
        if http == "bearer":
            fmt = one_line(spec.get("bearerFormat"), 40)
            extra = f", bearerFormat {fmt}" if fmt else ""
            return Scheme(where, "BEARER", f"{where}: type http, scheme bearer{extra}")
        return Scheme(
            where,
            None,
            f"{where}: type http, scheme {http[:30] or '(none)'}",
            unsupported=f"HTTP {http[:30] or '(unnamed)'} authentication is not supported by "
            "the proxy model (only basic and bearer are)",
        )
    if lowered == "apikey":
        return _api_key(where, spec, all_texts)
    if lowered == "oauth2":
        return _oauth(where, name, spec, v2, base, required.get(name, set()))
    if lowered == "openidconnect":
        url = one_line(spec.get("openIdConnectUrl"), 200)
        return Scheme(
            where,
            None,
            f"{where}: type openIdConnect ({url})",
            unsupported="OpenID Connect discovery is not fetched during inference: copy the "
            "authorization_endpoint and token_endpoint from the discovery document into an "
            "OAUTH pattern",
        )
    return Scheme(
        where,
        None,
        f"{where}: type {kind[:30] or '(none)'}",
        unsupported=f"security scheme type {kind[:30] or '(none)'!r} is not supported by the "
        "proxy model",
    )


def _api_key(where: str, spec: JSONObject, texts: list[str]) -> Scheme:
    location = _str(spec.get("in")).strip().lower()
    header = _str(spec.get("name")).strip()
    evidence = f"{where}: type apiKey in {location or '(unspecified)'}, name {header[:60]!r}"
    if location == "query":
        return _query_key(where, header, evidence)
    if location != "header":
        return Scheme(
            where,
            None,
            evidence,
            unsupported=f"an API key sent in a {location or 'non-header'} parameter "
            f"({header[:60]!r}) is not supported by the proxy model, which sends credentials "
            "in a header or the query: use another scheme the API offers, or check whether "
            "the API also accepts the key in a header",
        )
    problem = header_problem(header) if header else "the header name is missing"
    if problem:
        return Scheme(where, None, evidence, unsupported=problem)
    scheme = Scheme(where, "API_KEY", evidence)
    scheme.header = None if header.lower() == "authorization" else header
    prefix = find_prefix(header, texts)
    if prefix is not None:
        scheme.prefix = prefix[0]
        scheme.notes.append(f"the key is sent as {prefix[0]!r} + key, as shown in: {prefix[1]}")
    elif scheme.header is None:
        scheme.notes.append("the key is sent in the Authorization header as-is (no prefix shown)")
    return scheme


def _query_key(where: str, name: str, evidence: str) -> Scheme:
    if not QUERY_PARAM_NAME.fullmatch(name):
        return Scheme(
            where,
            None,
            evidence,
            unsupported=f"the query parameter name {name[:60]!r} is not one auth_query_param "
            "takes (letters, digits, '.', '_', '~' or '-', at most 100)",
        )
    scheme = Scheme(where, "API_KEY", evidence, query_param=name)
    scheme.notes.append(
        f"the key is sent as the query parameter {name!r} (auth_query_param); upstreams may "
        "log URLs, so a header scheme is preferred when the API offers one"
    )
    return scheme


def _only_host_placeholders(url: str) -> bool:
    return len(host_placeholders(url)) == len(PLACEHOLDER.findall(url))


def _host_variables(url: str, base: BaseUrl | None) -> str:
    """`https://{tenant}.example.com/oauth` → `https://{{tenant}}.example.com/oauth` when
    the base URL made `tenant` a host-label field (one whole label, SPEC §3a)."""
    match = _ABSOLUTE.match(url)
    if base is None or match is None or "{" not in match.group(2):
        return url
    fields = {f["field_name"] for f in base.fields}
    labels = []
    for label in match.group(2).split("."):
        var = _VARIABLE.fullmatch(label)
        name = field_name(var.group(1), set()) if var else None
        if var and name not in fields:
            return url
        labels.append("{{" + str(name) + "}}" if var else label)
    return f"{match.group(1)}://{'.'.join(labels)}{url[match.end(2) :]}"


def _oauth(
    where: str,
    name: str,
    spec: JSONObject,
    v2: bool,
    base: BaseUrl | None,
    required: set[str],
) -> Scheme:
    machine = False  # the client-credentials grant (no user redirect)
    if v2:
        flow_name = _str(spec.get("flow"))
        flow = spec if flow_name in ("accessCode", "application") else None
        flows = [flow_name or "(none)"]
        machine = flow_name == "application"
        label = f"flow {flow_name}" if flow is not None else "flow accessCode"
    else:
        all_flows = _dict(spec.get("flows"))
        flow = _dict(all_flows.get("authorizationCode")) or None
        label = "flows.authorizationCode"
        if flow is None and _dict(all_flows.get("clientCredentials")):
            flow, machine, label = (
                _dict(all_flows["clientCredentials"]),
                True,
                ("flows.clientCredentials"),
            )
        flows = list(all_flows)[:10] or ["(none)"]
    if flow is None:
        return Scheme(
            where,
            None,
            f"{where}: type oauth2, flows {', '.join(f[:30] for f in flows)}",
            unsupported="OAuth 2.0 without an authorization-code or client-credentials flow "
            "is not supported: authrelay's OAUTH type needs one of the two",
        )
    scheme = Scheme(where, "OAUTH", f"{where}: type oauth2, {label}")
    scheme.client_credentials = machine
    urls = (("tokenUrl", "token_uri"),) if machine else ()
    for key, attr in urls or (("authorizationUrl", "authorize_uri"), ("tokenUrl", "token_uri")):
        url = _host_variables(_str(flow.get(key)).strip(), base)
        if url and "://" not in url and base is not None and _only_host_placeholders(base.url):
            resolved = urljoin(base.url + "/", url)
            scheme.notes.append(f"the relative {key} {url[:100]!r} was resolved to {resolved}")
            url = resolved
        if url:
            url = https(url, scheme.notes, key)
        if not url:
            scheme.unsupported = f"the {label} flow has no {key}"
        elif not _valid_upstream(url):
            scheme.unsupported = f"the {key} {url[:200]!r} is not an absolute https URL"
        else:
            setattr(scheme, attr, url)
    scopes = _dict(flow.get("scopes"))
    for scope, text in list(scopes.items())[:1000]:
        scheme.scopes.append(Scope(scope, _str(text), scope in required))
    if not scopes:
        scheme.notes.append("the flow lists no scopes")
    return scheme


def _base_v2(root: JSONObject, missing: list[str], assumed: list[str]) -> BaseUrl:
    host = _str(root.get("host")).strip()
    base_path = _str(root.get("basePath")).strip()
    schemes = (
        [s.lower() for s in root.get("schemes", []) if isinstance(s, str)][:10]
        if (isinstance(root.get("schemes"), list))
        else []
    )
    if not host or not static_host("https://" + host) or not _valid_upstream(f"https://{host}/"):
        missing.append(
            "the document has no usable 'host': the API host is unknown, so proxy_url uses a "
            "{{domain}} field; replace it with the real host if there is only one"
        )
        return relative_base(base_path, "no host in the OpenAPI 2.0 document")
    keep_http = bool(schemes) and "https" not in schemes and allowed_http(host)
    if schemes and "https" not in schemes and not keep_http:
        assumed.append(
            f"the document lists schemes {schemes}; assumed the API is also served over https://"
        )
    path = safe_path(base_path)
    url = join_path(f"{'http' if keep_http else 'https'}://{host}", path)
    return BaseUrl(url, [], f"host {host!r} and basePath {base_path or '/'!r}")


def _base_v3(root: JSONObject, missing: list[str], assumed: list[str]) -> BaseUrl:
    servers = root.get("servers")
    server = None
    if isinstance(servers, list):
        server = next(
            (_dict(s) for s in servers[:50] if isinstance(_dict(s).get("url"), str)), None
        )
        if len([s for s in servers if isinstance(s, dict)]) > 1:
            assumed.append("the document lists several servers; used the first one")
    if server is None:
        missing.append(
            "the document has no servers: the API host is unknown, so proxy_url uses a "
            "{{domain}} field; replace it with the real host if there is only one"
        )
        return relative_base("", "no servers in the OpenAPI document")
    url = _str(server.get("url")).strip()[:2000]
    variables = _dict(server.get("variables"))
    match = _ABSOLUTE.match(url)
    if match is None:
        missing.append(
            f"servers[0].url {url[:200]!r} is relative: the API host is not in the document, "
            "so proxy_url uses a {{domain}} field; replace it with the real host if known"
        )
        fields: list[InputFieldBody] = [domain_field("The API host name, e.g. api.example.com")]
        path = _template_path(url, variables, fields, assumed, set())
        return BaseUrl(
            join_path("https://{{domain}}", path),
            fields,
            f"servers[0].url {url[:200]!r} is relative, so the host is a {{{{domain}}}} field",
            host_known=False,
        )
    scheme, host, path_part = match.group(1), match.group(2), match.group(3)
    keep_http = scheme.lower() == "http" and "{" not in host and allowed_http(host)
    if keep_http:
        pass
    elif scheme.lower() == "http":
        assumed.append(f"servers[0].url {url[:200]!r} uses http://; assumed https://")
    elif scheme.lower() != "https":
        assumed.append(f"servers[0].url uses scheme {scheme[:30]!r}; assumed https://")
    fields = []
    taken: set[str] = {"domain"}
    host_template = _template_host(host, variables, fields, taken)
    if host_template is None:
        missing.append(f"servers[0].url {url[:200]!r} has no usable host")
        return relative_base(path_part, "servers[0].url has no usable host")
    path = _template_path(path_part, variables, fields, assumed, taken)
    reason = f"servers[0].url {url[:200]!r}"
    if fields:
        names = ", ".join(f["field_name"] for f in fields)
        reason += f" (server variables became fields: {names})"
    base = f"{'http' if keep_http else 'https'}://{host_template}"
    return BaseUrl(join_path(base, path), fields, reason)


def _default(variables: JSONObject, name: str) -> str:
    spec = _dict(variables.get(name))
    value = spec.get("default")
    return one_line(value if isinstance(value, str) else str(value or ""), 200)


def _template_host(
    host: str, variables: JSONObject, fields: list[InputFieldBody], taken: set[str]
) -> str | None:
    names = _VARIABLE.findall(host)
    if not names:
        ok = static_host("https://" + host) and _valid_upstream(f"https://{host}/")
        return host if ok else None
    labeled = _label_placeholders(host, variables, fields, taken)
    if labeled is not None:
        return labeled
    concrete = _VARIABLE.sub(lambda m: _default(variables, m.group(1)) or m.group(1), host)
    hint = f"The API host, e.g. {concrete}"
    if len(names) == 1:
        candidate = _VARIABLE.sub("{{domain}}", host)
        if _valid_upstream(f"https://{candidate}/"):
            default = _default(variables, names[0])
            hint = f"The {names[0][:60]} part of the host" + (
                f", e.g. {default}" if default else ""
            )
            fields.append(domain_field(hint))
            return candidate
    fields.append(domain_field(hint))
    return "{{domain}}"


def _label_placeholders(
    host: str, variables: JSONObject, fields: list[InputFieldBody], taken: set[str]
) -> str | None:
    """Host-label placeholders (SPEC §3a) when every variable is one whole label of a host
    with at least one fixed label (`{tenant}.example.com` → `{{tenant}}.example.com`, a
    `tenant` field); None otherwise (the caller falls back to a `{{domain}}` field)."""
    labels = host.split(".")
    if len(labels) < 2 or ":" in host or "@" in host:
        return None
    fixed = [label for label in labels if not _VARIABLE.search(label)]
    whole = [label for label in labels if _VARIABLE.fullmatch(label)]
    if not fixed or len(fixed) + len(whole) != len(labels):
        return None
    out: list[str] = []
    added: list[InputFieldBody] = []
    local = set(taken)
    for label in labels:
        match = _VARIABLE.fullmatch(label)
        if match is None:
            out.append(label)
            continue
        var = match.group(1)
        default = _default(variables, var)
        name = field_name(var, local)
        spec: InputFieldBody = {
            "field_name": name,
            "label": one_line(var, 200) or name,
            "input_type": "text",
            "hint": f"The {var[:60]} part of the host" + (f", e.g. {default}" if default else ""),
            "required": True,
        }
        enum = _dict(variables.get(var)).get("enum")
        options = [
            o
            for o in (enum[:100] if isinstance(enum, list) else [])
            if isinstance(o, str) and _LABEL.fullmatch(o)
        ]
        if options:
            spec["input_type"] = "select"
            spec["options"] = options
        added.append(spec)
        out.append("{{" + name + "}}")
    candidate = ".".join(out)
    if not _valid_upstream(f"https://{candidate}/"):
        return None
    taken.update(local)
    fields.extend(added)
    return candidate


def _template_path(
    path: str,
    variables: JSONObject,
    fields: list[InputFieldBody],
    assumed: list[str],
    taken: set[str],
) -> str:
    out: list[str] = []
    has_version = False
    for segment in path.split("/")[:50]:
        if not segment:
            continue
        names = _VARIABLE.findall(segment)
        if not names:
            if not _SEGMENT.match(segment) or segment in {".", ".."}:
                assumed.append(f"the server path was cut before the segment {segment[:60]!r}")
                break
            out.append(segment)
            continue
        whole = len(names) == 1 and segment == "{" + names[0] + "}"
        if not whole:
            filled = _VARIABLE.sub(lambda m: _default(variables, m.group(1)), segment)
            if _SEGMENT.match(filled) and filled not in {".", ".."}:
                assumed.append(
                    f"the server path segment {segment[:60]!r} was filled with its default "
                    f"{filled!r}"
                )
                out.append(filled)
                continue
        var = names[0]
        default = _default(variables, var)
        if not has_version and is_version(var, default):
            has_version = True
            taken.add("version")
            fields.append(
                {
                    "field_name": "version",
                    "label": "API version",
                    "input_type": "text",
                    "hint": f"e.g. {default}" if default else "The API version",
                    "required": True,
                }
            )
            out.append("{{version}}")
            continue
        name = field_name(var, taken)
        fields.append(
            {
                "field_name": name,
                "label": one_line(var, 200) or name,
                "input_type": "text",
                "hint": f"e.g. {default}" if default else f"The {var[:60]} path segment",
                "required": True,
                "is_path_param": True,
            }
        )
        out.append("{{" + name + "}}")
    return "".join("/" + s for s in out)
