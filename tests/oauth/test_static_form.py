"""Authorization links for static credentials: the hosted form (masked passwords, CSRF,
errors shown in place), single use, expiry, and refused redirect targets."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from authrelay_client.codes import Code
from tests.support.proxy import proxy_headers
from tests.support.rawdb import execute
from tests.support.resources import violations
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream, provider_definition

NUL = "must not contain NUL characters (U+0000)"


def _setup(api: httpx.Client, upstream: RecordingUpstream, unique: str) -> str:
    definition = provider_definition(
        f"Form {unique}",
        upstream,
        type="BASIC",
        fields=[
            {"field_name": "username", "label": "API user", "required": True, "hint": "Your user"},
            {
                "field_name": "password",
                "label": "API password",
                "input_type": "password",
                "required": True,
            },
            {
                "field_name": "region",
                "label": "Region",
                "input_type": "select",
                "options": ["eu", "us"],
                "required": True,
            },
        ],
    )
    assert api.post("/api/v1/custom-providers", json=definition).status_code == 201
    conn = f"form-{unique}"
    assert (
        api.post(
            "/api/v1/connections", json={"provider_key": f"form{unique}", "key_id": conn}
        ).status_code
        == 201
    )
    return conn


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_hosted_form_flow(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = _setup(api, upstream, unique)
        response = api.post(
            "/api/v1/connected_accounts/magic_link",
            json={"connector": conn, "identifier": "ann@example.com"},
        )
        assert response.status_code == 200, response.text
        link = response.json()
        assert set(link) == {"link", "expiry"} and link["link"].startswith(f"{server.url}/connect/")
        account = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "ann@example.com"},
        ).json()
        assert account["connected_account"]["status"] == "PENDING_AUTH"

    with httpx.Client() as browser:
        page = browser.get(link["link"])
        assert page.status_code == 200, page.text
        html = page.text
        assert 'type="password"' in html and 'name="password"' in html
        assert '<select id="f_region" name="region"' in html and "Your user" in html
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in html
        csrf = _csrf(html)
        action = re.search(r'action="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        assert browser.get(link["link"]).status_code == 410  # single use

        # server-side validation, errors shown in place, password never echoed
        bad = browser.post(
            server.url + action,
            data={"csrf_token": csrf, "username": "ann", "password": "pw-1", "region": "mars"},
        )
        assert bad.status_code == 400
        assert 'aria-invalid="true"' in bad.text and "must be one of eu, us" in bad.text
        assert 'value="ann"' in bad.text and "pw-1" not in bad.text
        # the summary names each bad field by its label, as the user sees it
        assert "<li>Region: must be one of eu, us</li>" in bad.text
        empty = browser.post(
            server.url + action,
            data={"csrf_token": csrf, "username": "", "password": "pw-1", "region": "eu"},
        )
        assert empty.status_code == 400
        assert "<li>API user: is required</li>" in empty.text, empty.text
        # CSRF: a token without the matching cookie, or no token, is refused
        with httpx.Client() as other:
            forged = other.post(
                server.url + action,
                data={"csrf_token": csrf, "username": "x", "password": "y", "region": "eu"},
            )
            assert forged.status_code == 403
        assert (
            browser.post(
                server.url + action, data={"username": "x", "password": "y", "region": "eu"}
            ).status_code
            == 403
        )

        ok = browser.post(
            server.url + action,
            data={
                "csrf_token": _csrf(bad.text),
                "username": "ann",
                "password": "pw-1",
                "region": "eu",
            },
        )
        assert ok.status_code == 200 and "is connected" in ok.text
        again = browser.post(
            server.url + action,
            data={"csrf_token": csrf, "username": "z", "password": "z", "region": "eu"},
        )
        assert again.status_code == 410

    with server.api(dev_client) as api:
        details = api.get(
            "/api/v1/connected_accounts/details",
            params={"connector": conn, "identifier": "ann@example.com"},
        ).json()
        assert details["connected_account"]["status"] == "ACTIVE"
        upstream.clear()
        assert (
            api.get("/proxy/x", headers=proxy_headers(conn, "ann@example.com")).status_code == 200
        )
        assert upstream.requests[-1].header("Authorization") == "Basic YW5uOnB3LTE="


def test_links_expire_and_refuse_bad_targets(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    with server.api(dev_client) as api:
        conn = _setup(api, upstream, unique)
        link = api.post(
            "/api/v1/connected_accounts/magic_link", json={"connector": conn, "identifier": "bob"}
        ).json()["link"]
        execute(
            server.backend,
            "UPDATE auth_flows SET expires_at = '2000-01-01 00:00:00+00:00' WHERE status = 'ISSUED'",
        )
        with httpx.Client() as browser:
            page = browser.get(link)
            assert page.status_code == 410 and "expired" in page.text
            assert browser.get(f"{server.url}/connect/not-a-real-token").status_code == 404
        for bad in (
            "javascript:alert(1)",
            "//evil.example/verify",
            "http://evil.example/verify",
            "https://user@evil.example/",
            "/relative",
        ):
            response = api.post(
                "/api/v1/connected_accounts/magic_link",
                json={"connector": conn, "identifier": "bob", "user_verify_url": bad},
            )
            assert response.status_code == 400, bad
            assert (
                response.json()["details"][0]["field_violations"][0]["field"] == "user_verify_url"
            )
        missing: dict[str, Any] = {"identifier": "bob"}
        assert api.post("/api/v1/connected_accounts/magic_link", json=missing).status_code == 400
        assert (
            api.post(
                "/api/v1/connected_accounts/magic_link",
                json={"connector": f"none-{unique}", "identifier": "bob"},
            ).status_code
            == 404
        )


def test_concurrent_links_and_creates_for_a_new_account(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    import asyncio

    with server.api(dev_client) as api:
        conn = _setup(api, upstream, unique)
    token = server.token(dev_client)

    async def race() -> tuple[list[int], list[int]]:
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            links = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/connected_accounts/magic_link",
                        json={"connector": conn, "identifier": "new@x"},
                    )
                    for _ in range(10)
                )
            )
            body = {
                "connector": conn,
                "identifier": "made@x",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {
                            "details": {"username": "u", "password": "p", "region": "eu"}
                        }
                    }
                },
            }
            creates = await asyncio.gather(
                *(http.post("/api/v1/connected_accounts", json=body) for _ in range(10))
            )
        return [r.status_code for r in links], [r.status_code for r in creates]

    links, creates = asyncio.run(race())
    assert links == [200] * 10
    assert creates.count(201) == 1 and creates.count(409) == 9, creates
    with server.api(dev_client) as api:
        listed = api.get("/api/v1/connected_accounts", params={"connector": conn}).json()
        assert sorted(a["identifier"] for a in listed["connected_accounts"]) == ["made@x", "new@x"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"username=a&username=b", {"username": "is repeated"}),
        (b"username=\xff", {"body": "is not UTF-8 encoded"}),
        (b"username=a%00&region=b%00", {"username": NUL, "region": NUL}),
    ],
)
def test_hosted_form_bodies_are_read_as_the_token_form_is(
    server: Server, body: bytes, fields: dict[str, str]
) -> None:
    """Read by the same parser as POST /oauth/token, before the flow is looked up."""
    response = httpx.post(
        f"{server.url}/connect/flow/no-such-flow",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == Code.INVALID_ARGUMENT
    assert violations(response) == fields
