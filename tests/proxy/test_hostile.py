"""A corpus of hostile inputs, each refused by the proxy before any upstream request."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from typing import Any

import pytest

from authrelay.netguard import BlockedAddress, GuardedResolver, check_host, ip_allowed
from authrelay.proxy.guard import PathRejected, check_path
from authrelay_client.providers.allowlist import UpstreamAllowlist
from tests.support.proxy import enable, proxy_headers
from tests.support.rawhttp import send_raw
from tests.support.servers import Server, create_client
from tests.support.upstream import RecordingUpstream, provider_definition

HOSTILE_PATHS = [
    "/proxy/../etc/passwd",
    "/proxy/a/../../b",
    "/proxy/%2e%2e/x",
    "/proxy/%2E%2E%2Fx",
    "/proxy/..%2fadmin",
    "/proxy/%252e%252e/x",
    "/proxy/.%2e/x",
    "/proxy/a/%2e/b",
    "/proxy/./x",
    "/proxy//evil.example/x",
    "/proxy/%2f%2fevil.example",
    "/proxy/%2Fetc",
    "/proxy/http://evil.example/x",
    "/proxy/https:%2f%2fevil.example",
    "/proxy/javascript:alert(1)",
    "/proxy/a\\..\\b",
    "/proxy/a%5c..%5cb",
    "/proxy/%5c%5cevil.example",
    "/proxy/a%00b",
    "/proxy/a%0d%0aX-Injected:%201",
    # `;` path parameters: Tomcat, Jetty and Spring read `..;x` as `..`
    "/proxy/..;/admin",
    "/proxy/.;/admin",
    "/proxy/a/..;/..;/admin",
    "/proxy/..;jsessionid=1/admin",
    "/proxy/..;a=b;c=d/admin",
    "/proxy/..;",
    "/proxy/a/.;x=1",
    "/proxy/%2e%2e;/admin",
    "/proxy/%2E%2E;/admin",
    "/proxy/.%2e;/admin",
    "/proxy/%2e.;/admin",
    "/proxy/%2e%2e%3b/admin",
    "/proxy/..%3b/admin",
    "/proxy/..%3B/admin",
    "/proxy/..%253b/admin",  # decoded twice
    "/proxy/%2e%2e%253b/admin",
    "/proxy/%252e%252e;/admin",
    "/proxy/%25252e%25252e/admin",  # decoded three times
    "/proxy/..;%2fadmin",
    "/proxy/..;\\admin",
    "/proxy/..;%5cadmin",
    "/proxy/..%00;/admin",
    "/proxy/..%20;/admin",
    # overlong UTF-8 and IIS %u spellings of '.' and '/'
    "/proxy/%c0%ae%c0%ae/admin",
    "/proxy/%C0%AE%C0%AE%C0%AFadmin",
    "/proxy/%e0%80%ae%e0%80%ae/admin",
    "/proxy/%25c0%25ae%25c0%25ae/admin",
    "/proxy/%u002e%u002e/admin",
    "/proxy/..%u2215admin",
]


@pytest.fixture(scope="module")
def hostile_setup(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream
) -> dict[str, str]:
    # Unique names: under worksteal a worker may set this module up twice on its server.
    suffix = secrets.token_hex(4)
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Hostile Target {suffix}", upstream),
            f"hostile-{suffix}",
            "victim",
            {"api_key": "k"},
        )
        return {"token": str(api.headers["Authorization"]), "connection": f"hostile-{suffix}"}


@pytest.mark.parametrize("target", HOSTILE_PATHS)
def test_path_escapes_are_refused(
    server: Server, upstream: RecordingUpstream, hostile_setup: dict[str, str], target: str
) -> None:
    upstream.clear()
    response = send_raw(
        server.port,
        target,
        [
            ("Authorization", hostile_setup["token"]),
            ("connection_name", hostile_setup["connection"]),
            ("identifier", "victim"),
        ],
    )
    assert response.status == 400, (target, response.body)
    body = response.json()
    assert body["code"] == 3 and response.headers["x-authrelay-error"] == "INVALID_ARGUMENT"
    assert upstream.requests == []


@pytest.mark.parametrize(
    "header_line",
    [
        ("connection_name", "hostile\rX-Evil: 1"),
        ("identifier", "victim\rX-Evil: 1"),
        ("identifier", "victim\n\tfolded"),
        ("identifier", "vic\x00tim"),
    ],
)
def test_crlf_in_headers_is_refused(
    server: Server,
    upstream: RecordingUpstream,
    hostile_setup: dict[str, str],
    header_line: tuple[str, str],
) -> None:
    upstream.clear()
    headers = [
        ("Authorization", hostile_setup["token"]),
        ("connection_name", hostile_setup["connection"]),
        ("identifier", "victim"),
    ]
    headers = [h for h in headers if h[0] != header_line[0]] + [header_line]
    response = send_raw(server.port, "/proxy/x", headers)
    assert 400 <= response.status < 500
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "evil.example/x"),
        ("domain", "user@evil.example"),
        ("domain", "evil.example#"),
        ("domain", "localhost:8080"),
        ("domain", ".."),
        ("domain", "a b"),
        ("org", "x?y"),
        ("org", "a/b"),
        ("org", ".."),
        ("org", "a#b"),
        ("org", "a@b"),
    ],
)
def test_placeholder_values_that_would_change_the_url(
    server: Server,
    dev_client: dict[str, str],
    upstream: RecordingUpstream,
    unique: str,
    field: str,
    value: str,
) -> None:
    definition = {
        "display_name": f"Place {unique}",
        "auth_patterns": [
            {
                "type": "API_KEY",
                "fields": [
                    {"field_name": "api_key"},
                    {"field_name": "domain"},
                    {"field_name": "org", "is_path_param": True},
                ],
            }
        ],
        "proxy_url": "https://{{domain}}/orgs/{{org}}",
        "proxy_enabled": True,
    }
    details: dict[str, Any] = {
        "api_key": "k",
        "domain": "localhost",
        "path_variables": {"org": "acme"},
    }
    if field == "domain":
        details["domain"] = value
    else:
        details["path_variables"]["org"] = value
    with server.api(dev_client) as api:
        assert api.post("/api/v1/custom-providers", json=definition).status_code == 201
        api.post(
            "/api/v1/connections",
            json={"provider_key": f"place{unique}", "key_id": f"place-{unique}"},
        )
        upstream.clear()
        response = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": f"place-{unique}",
                "identifier": "u",
                "connected_account": {
                    "authorization_details": {"static_auth": {"details": details}}
                },
            },
        )
        assert response.status_code == 400, response.text
        fields = [v["field"] for v in response.json()["details"][0]["field_violations"]]
        assert any(f.endswith(f".{field}") for f in fields), fields
        assert api.get("/proxy/x", headers=proxy_headers(f"place-{unique}", "u")).status_code == 404
    assert upstream.requests == []


def test_placeholder_values_are_checked_again_at_proxy_time(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    fields = [{"field_name": "api_key"}, {"field_name": "region", "is_path_param": True}]
    first = provider_definition(f"Later {unique}", upstream, fields=fields)
    with server.api(dev_client) as api:
        enable(api, first, f"later-{unique}", "u", {"api_key": "k", "region": "eu/../../admin"})
        later = provider_definition(
            f"Later {unique}", upstream, fields=fields, proxy_url=f"{upstream.url}/{{{{region}}}}"
        )
        assert api.put(f"/api/v1/custom-providers/later{unique}", json=later).status_code == 200
        upstream.clear()
        response = api.get("/proxy/x", headers=proxy_headers(f"later-{unique}", "u"))
        assert response.status_code == 400 and "{{region}}" in response.json()["message"]
    assert upstream.requests == []


SSRF_TARGETS = [
    "https://127.0.0.2/api",
    "https://[::1]/api",
    "https://[::ffff:127.0.0.2]/api",
    "http://0.0.0.0:9/api".replace("http://", "https://"),
    "https://127.255.255.254:8443/api",
]


@pytest.mark.parametrize("proxy_url", SSRF_TARGETS)
def test_targets_outside_the_allowlist_are_refused(
    strict_server: Server, upstream: RecordingUpstream, unique: str, proxy_url: str
) -> None:
    client = create_client(strict_server.backend, "dev")
    with strict_server.api(client) as api:
        definition = provider_definition(f"Ssrf {unique}", upstream, proxy_url=proxy_url)
        enable(api, definition, f"ssrf-{unique}", "u", {"api_key": "k"})
        upstream.clear()
        response = api.get("/proxy/x", headers=proxy_headers(f"ssrf-{unique}", "u"))
    assert response.status_code == 403, response.text
    assert response.headers["x-authrelay-error"] == "PERMISSION_DENIED"
    assert "allow-list" in response.json()["message"]


def test_templated_host_to_loopback_is_refused(strict_server: Server, unique: str) -> None:
    client = create_client(strict_server.backend, "dev")
    definition = {
        "display_name": f"Tpl Ssrf {unique}",
        "auth_patterns": [
            {"type": "API_KEY", "fields": [{"field_name": "api_key"}, {"field_name": "domain"}]}
        ],
        "proxy_url": "https://{{domain}}/api",
        "proxy_enabled": True,
    }
    with strict_server.api(client) as api:
        enable(api, definition, f"tpl-ssrf-{unique}", "u", {"api_key": "k", "domain": "127.0.0.2"})
        response = api.get("/proxy/x", headers=proxy_headers(f"tpl-ssrf-{unique}", "u"))
    assert (
        response.status_code == 403 and response.headers["x-authrelay-error"] == "PERMISSION_DENIED"
    )


def test_redirects_toward_forbidden_targets(
    strict_server: Server, server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    client = create_client(strict_server.backend, "dev")
    with strict_server.api(client) as api:
        enable(
            api,
            provider_definition(f"Redir {unique}", upstream),
            f"redir-{unique}",
            "u",
            {"api_key": "k"},
        )
        upstream.clear()
        response = api.get(
            "/proxy/redirect",
            params={"to": "http://127.0.0.2:9/steal"},
            headers=proxy_headers(f"redir-{unique}", "u"),
        )
        assert response.status_code == 403, response.text
        assert [r.raw_path.split("?")[0] for r in upstream.requests] == ["/api/redirect"]
        # an allowed redirect is followed; credentials stay with their origin
        upstream.clear()
        response = api.get(
            "/proxy/redirect",
            params={"to": f"{upstream.url}/landed"},
            headers=proxy_headers(f"redir-{unique}", "u"),
        )
        assert response.status_code == 200
        assert [r.raw_path.split("?")[0] for r in upstream.requests] == ["/api/redirect", "/landed"]
        assert upstream.requests[1].header("Authorization") == "k"
        # a redirect to another origin (here another port) is followed without them
        other = RecordingUpstream().start()
        try:
            response = api.get(
                "/proxy/redirect",
                params={"to": f"{other.url}/landed"},
                headers=proxy_headers(f"redir-{unique}", "u", **{"X-Caller": "kept"}),
            )
            assert response.status_code == 200
            assert [r.raw_path for r in other.requests] == ["/landed"]
            assert other.requests[0].header("Authorization") is None
            assert other.requests[0].header("X-Caller") == "kept"
        finally:
            other.stop()
    # by default redirects are not followed at all: the caller gets the 3xx itself
    with server.api(create_client(server.backend, "dev")) as api:
        enable(
            api,
            provider_definition(f"Redir Off {unique}", upstream),
            f"redir-off-{unique}",
            "u",
            {"api_key": "k"},
        )
        upstream.clear()
        response = api.get(
            "/proxy/redirect",
            params={"to": "http://127.0.0.2:9/steal"},
            headers=proxy_headers(f"redir-off-{unique}", "u"),
        )
        assert response.status_code == 302 and len(upstream.requests) == 1


# In-process checks for address classes this sandbox must never send traffic to.
@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "198.18.0.1",
        "fd00:ec2::254",
    ],
)
def test_private_link_local_and_metadata_addresses_are_not_allowed(address: str) -> None:
    assert not ip_allowed(ipaddress.ip_address(address), UpstreamAllowlist([]))
    with pytest.raises(BlockedAddress):
        check_host(address, UpstreamAllowlist([]))


def test_allowlist_opens_exactly_what_it_names() -> None:
    allow = UpstreamAllowlist(["10.1.0.0/16", "internal.example"])
    assert ip_allowed(ipaddress.ip_address("10.1.2.3"), allow)
    assert not ip_allowed(ipaddress.ip_address("10.2.0.1"), allow)
    assert ip_allowed(ipaddress.ip_address("8.8.8.8"), allow)


def test_resolver_refuses_names_resolving_to_private_addresses() -> None:
    class FixedResolver:
        def __init__(self, answer: str) -> None:
            self.answer = answer

        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
            return [
                {
                    "hostname": host,
                    "host": self.answer,
                    "port": port,
                    "family": 2,
                    "proto": 6,
                    "flags": 0,
                }
            ]

        async def close(self) -> None:
            return None

    async def resolve(answer: str, allow: list[str]) -> Any:
        resolver = GuardedResolver(UpstreamAllowlist(allow))
        await resolver.inner.close()
        resolver.inner = FixedResolver(answer)  # type: ignore[assignment]
        return await resolver.resolve("api.example.com", 443)

    for answer in ("10.0.0.7", "169.254.169.254", "127.0.0.1", "fd00::1"):
        with pytest.raises(BlockedAddress):
            asyncio.run(resolve(answer, []))
    assert asyncio.run(resolve("93.184.216.34", []))[0]["host"] == "93.184.216.34"
    assert asyncio.run(resolve("10.0.0.7", ["10.0.0.0/8"]))[0]["host"] == "10.0.0.7"


def test_numeric_host_spellings_are_refused_when_defined(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream
) -> None:
    with server.api(dev_client) as api:
        for url in ("https://2130706434/api", "https://0x7f000002/api", "https://127.1/api"):
            response = api.post(
                "/api/v1/custom-providers",
                json=provider_definition("Numeric", upstream, proxy_url=url),
            )
            assert response.status_code == 400, url
            assert response.json()["details"][0]["field_violations"][0]["field"] == "proxy_url"


def test_path_checker_accepts_ordinary_paths() -> None:
    for path in (
        "",
        "v1/users",
        "projects/group%2Fproject/issues",
        "a/b.json",
        "files/%E2%9C%93",
        "v1/documents/x:batchGet",
        # `;` parameters on ordinary segments pass as sent
        "items;v=1",
        "a;b/c",
        "matrix;x=1;y=2/z",
        "file.json;v=1",
        "..foo;x=1",
        ".well-known/openid-configuration",
        "a;..",
        "a;x=..",
        "a;x=%2e%2e",
        "...",
        "v1/%3Bsemi",
        "files/100%25",
        "files/%E2%9C%93",
        "files/caf%C3%A9",
        "files/%F0%9F%98%80",
        "hi/%E0%A4%85",
    ):
        assert check_path(path) == path
    for path in ("a//b", "a/..;/b", "..%3b", "%2e;x", "..%253b", "%c0%ae%c0%ae"):
        with pytest.raises(PathRejected):
            check_path(path)


def test_matrix_parameters_on_ordinary_segments_are_forwarded(
    server: Server, upstream: RecordingUpstream, hostile_setup: dict[str, str]
) -> None:
    for target in ("/proxy/items;v=1", "/proxy/a;b=c/d;e=f", "/proxy/file.json;v=1?x=1"):
        upstream.clear()
        response = send_raw(
            server.port,
            target,
            [
                ("Authorization", hostile_setup["token"]),
                ("connection_name", hostile_setup["connection"]),
                ("identifier", "victim"),
            ],
        )
        assert response.status == 200, (target, response.body)
        assert [r.raw_path for r in upstream.requests] == ["/api" + target[len("/proxy") :]]


def test_corpus_is_large_enough() -> None:
    assert len(HOSTILE_PATHS) + 4 + 11 + 1 + len(SSRF_TARGETS) + 2 + 3 >= 30
