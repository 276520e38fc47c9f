"""Sign-in, a wrong password, sign-out, an expired session, failed sign-in limits, CSRF."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import ADMIN, PASSWORD, Visit, add_admin, off_loop
from tests.support.dashboard import post_sign_in
from tests.support.rawdb import execute, rows
from tests.support.servers import Server, start_server

WRONG = "The email or the password is not right"


def _cookie(visit: Visit) -> str:
    cookies = visit.page.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "authrelay_dashboard")


def test_sign_in_wrong_password_and_sign_out(visit: Visit, server: Server) -> None:
    page = visit.page
    visit.sign_in(password="not the password at all")
    expect(page.get_by_role("alert")).to_contain_text(WRONG)
    expect(page.get_by_label("Email")).to_have_value(ADMIN)  # what was typed is kept
    assert not [c for c in page.context.cookies() if c["name"] == "authrelay_dashboard"]

    visit.sign_in()
    expect(page).to_have_url(re.compile(r"/dashboard/dev/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("dev")
    cookie = next(c for c in page.context.cookies() if c["name"] == "authrelay_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    token = cookie["value"]
    with httpx.Client(base_url=server.url, cookies={"authrelay_dashboard": token}) as http:
        assert http.get("/dashboard/dev/").status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/dashboard/signin"))
    # the session ended on the server: the old cookie no longer opens a page
    with httpx.Client(base_url=server.url, cookies={"authrelay_dashboard": token}) as http:
        response = http.get("/dashboard/dev/")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/dashboard/signin?next=/dashboard/dev/")


def test_expired_session_returns_to_the_page(visit: Visit, server: Server) -> None:
    email = add_admin(server, "idle@example.com")
    page = visit.page
    visit.sign_in(email=email)
    first = _cookie(visit)
    visit.goto("/dashboard/dev/accounts?status=ACTIVE")
    expect(page.get_by_label("Status")).to_have_value("ACTIVE")
    # the session was last used long ago (longer than the idle timeout)
    off_loop(
        execute,
        server.backend,
        "UPDATE admin_sessions SET last_seen_at = '2000-01-01 00:00:00' WHERE user_id IN "
        f"(SELECT id FROM admin_users WHERE email = '{email}')",
    )
    visit.goto("/dashboard/dev/accounts?status=ACTIVE")
    expect(page).to_have_url(re.compile(r"/dashboard/signin\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/dev/accounts\?status=ACTIVE$"))
    expect(page.get_by_label("Status")).to_have_value("ACTIVE")
    assert _cookie(visit) != first  # a new session, the expired one is gone
    sessions = off_loop(rows, server.backend, ["admin_sessions", "admin_users"])
    user_id = next(u["id"] for u in sessions["admin_users"] if u["email"] == email)
    assert len([s for s in sessions["admin_sessions"] if s["user_id"] == user_id]) == 1


def test_sign_in_rotates_the_session(visit: Visit, server: Server) -> None:
    visit.sign_in()
    first = _cookie(visit)
    visit.goto("/dashboard/signin")
    visit.sign_in(path="/dashboard/signin")
    second = _cookie(visit)
    assert first != second
    with httpx.Client(base_url=server.url, cookies={"authrelay_dashboard": first}) as http:
        assert http.get("/dashboard/dev/").status_code == 303


def test_failed_sign_ins_are_limited_with_one_answer(server: Server) -> None:
    email = add_admin(server, "limited@example.com")

    def attempt(address: str, password: str) -> httpx.Response:
        with httpx.Client(base_url=server.url) as http:
            return post_sign_in(http, address, password)

    unknown = attempt("nobody@example.com", PASSWORD)
    wrong = attempt(email, "wrong wrong wrong")
    assert unknown.status_code == wrong.status_code == 401
    assert WRONG in unknown.text and WRONG in wrong.text
    for _ in range(4):  # five failures in all: the default limit per account
        assert attempt(email, "wrong wrong wrong").status_code == 401
    refused = attempt(email, PASSWORD)
    assert refused.status_code == 401 and WRONG in refused.text
    assert "authrelay_dashboard=" not in refused.headers.get("set-cookie", "")
    # another account from the same address still signs in
    other = add_admin(server, "unlimited@example.com")
    assert attempt(other, PASSWORD).status_code == 303


def test_state_changes_need_the_csrf_token(visit: Visit, server: Server) -> None:
    visit.sign_in()
    token = _cookie(visit)
    with httpx.Client(base_url=server.url, cookies={"authrelay_dashboard": token}) as http:
        before = len(http.get("/dashboard/dev/clients").text)
        for data in ({}, {"csrf": "forged"}):
            response = http.post("/dashboard/dev/clients", data=data)
            assert response.status_code == 403
            assert "Traceback" not in response.text
        assert len(http.get("/dashboard/dev/clients").text) == before


def test_sign_in_returns_only_inside_the_dashboard(visit: Visit, server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        for target in ("//evil.example/x", "https://evil.example/", "/api/v1/providers"):
            response = post_sign_in(http, ADMIN, PASSWORD, target)
            assert response.status_code == 303
            assert response.headers["location"] == "/dashboard/"
        missing = http.get("/dashboard/no-such-env/providers")
        assert missing.status_code == 404 and "no environment named" in missing.text
        assert "Traceback" not in missing.text
        # errors under /dashboard are pages, not the API's JSON envelope
        bad_token = http.get("/dashboard/dev/connections", params={"page_token": "garbage"})
        assert bad_token.status_code == 400
        assert bad_token.headers["content-type"].startswith("text/html")
        assert "page_token" in bad_token.text
        unknown = http.get("/dashboard/dev/no/such/page")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(
            "text/html"
        )
    with httpx.Client(base_url=server.url) as http:  # the API keeps its envelope
        assert http.get("/api/v1/nothing-here").headers["content-type"] == "application/json"


def test_sign_in_form_needs_its_own_token(server: Server, admin: str) -> None:
    """Another site cannot post the sign-in form (login CSRF): the form's token must match
    the cookie the sign-in page set."""
    with httpx.Client(base_url=server.url) as http:
        data = {"email": ADMIN, "password": PASSWORD, "next": ""}
        for extra in ({}, {"signin_token": "forged"}):
            refused = http.post("/dashboard/signin", data={**data, **extra})
            assert refused.status_code == 403 and "expired" in refused.text
            assert "authrelay_dashboard=" not in refused.headers.get("set-cookie", "")
        assert post_sign_in(http, ADMIN, PASSWORD).status_code == 303


def test_cookies_are_secure_behind_an_https_public_url(
    server: Server, admin: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second server on the same store, told its public URL is https."""
    https = start_server(
        server.backend, tmp_path_factory.mktemp("https"), AUTHRELAY_PUBLIC_URL="https://auth.test"
    )
    try:
        with httpx.Client(base_url=https.url) as http:
            form = http.get("/dashboard/signin")
            form_cookie = form.headers["set-cookie"]
            assert "Secure" in form_cookie and "HttpOnly" in form_cookie
            # httpx keeps Secure cookies off plain http: send it as a browser on https would
            value = form_cookie.split(";")[0].split("=", 1)[1]
            token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
            assert token
            signed = http.post(
                "/dashboard/signin",
                data={"email": admin, "password": PASSWORD, "signin_token": token[1]},
                headers={"Cookie": f"authrelay_dashboard_signin={value}"},
            )
            assert signed.status_code == 303
            session_cookie = next(
                part
                for part in signed.headers.get_list("set-cookie")
                if part.startswith("authrelay_dashboard=")
            )
            assert "Secure" in session_cookie and "HttpOnly" in session_cookie
            assert "SameSite=lax" in session_cookie
    finally:
        https.stop()
