"""`authrelay admin add|list|remove|set-password`: dashboard users from the command line."""

from __future__ import annotations

import httpx

from tests.support.cli import Result, run_authrelay
from tests.support.dashboard import post_sign_in
from tests.support.rawdb import rows
from tests.support.servers import Server


def admin(server: Server, *args: str, stdin: str = "") -> Result:
    return run_authrelay(["admin", *args], server.backend.env(), stdin=stdin)


def signs_in(server: Server, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=server.url) as http:
        return post_sign_in(http, email, password)


def test_admin_lifecycle(server: Server, unique: str) -> None:
    email = f"cli-{unique}@example.com"
    short = admin(server, "add", email, stdin="too short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    added = admin(server, "add", email.upper(), stdin="first long password\n")
    assert added.returncode == 0, added.stderr
    again = admin(server, "add", email, stdin="first long password\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    listed = admin(server, "list")
    assert email in listed.stdout.split()  # stored lower-case
    stored = next(
        u for u in rows(server.backend, ["admin_users"])["admin_users"] if u["email"] == email
    )
    assert str(stored["password_hash"]).startswith("$argon2id$")
    assert "first long password" not in str(stored)

    session = signs_in(server, email, "first long password")
    assert session.status_code == 303
    cookie = session.cookies["authrelay_dashboard"]

    changed = admin(server, "set-password", email, stdin="second long password\n")
    assert changed.returncode == 0, changed.stderr
    with httpx.Client(base_url=server.url, cookies={"authrelay_dashboard": cookie}) as http:
        assert http.get("/dashboard/dev/").status_code == 303  # its sessions ended
    assert signs_in(server, email, "first long password").status_code == 401
    assert signs_in(server, email, "second long password").status_code == 303

    removed = admin(server, "remove", email)
    assert removed.returncode == 0, removed.stderr
    assert signs_in(server, email, "second long password").status_code == 401
    assert email not in [u["email"] for u in rows(server.backend, ["admin_users"])["admin_users"]]
    missing = admin(server, "remove", email)
    assert missing.returncode == 1 and "no dashboard user" in missing.stderr
