"""Sign-in's argon2 verifications run off the event loop, and only after the cheap checks.

A server of its own on a store of its own: the failed attempts here are counted per client
address (all 127.0.0.1), which would otherwise reach the shared server's address limit."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authrelay.dashboard.passwords import PasswordChecks, SigninsBusy, hasher
from tests.conftest import new_backend
from tests.dashboard.conftest import PASSWORD, add_admin, off_loop
from tests.support.dashboard import post_sign_in
from tests.support.servers import Backend, Server, start_server

WRONG = "The email or the password is not right"
PER_ACCOUNT = 3
METRIC = "authrelay_dashboard_password_checks_total"


@pytest.fixture(scope="module")
def own(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = new_backend(backend.name, tmp_path_factory.mktemp("hashing-data"))
    server = start_server(
        data,
        tmp_path_factory.mktemp("hashing-logs"),
        AUTHRELAY_DASHBOARD_SIGNIN_MAX_FAILURES=str(PER_ACCOUNT),
        AUTHRELAY_DASHBOARD_SIGNIN_ADDRESS_MAX_FAILURES="1000",
    )
    yield server
    server.stop()


def checks(server: Server) -> int:
    """Argon2 verifications the server has run (its /metrics)."""
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(METRIC + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"no {METRIC} in /metrics")


def ready_form(server: Server) -> tuple[httpx.Client, str]:
    """A client holding the sign-in form's cookie, and the form's token."""
    http = httpx.Client(base_url=server.url, timeout=120)
    page = http.get("/dashboard/signin")
    token = page.text.split('name="signin_token" value="', 1)[1].split('"', 1)[0]
    return http, token


def test_other_requests_are_answered_while_passwords_are_verified(own: Server) -> None:
    email = add_admin(own, "hashing@example.com")
    # An existing user with a wrong password, and unknown emails (their dummy verification
    # costs the same); one attempt per email, so no account limit is reached.
    attempts = [email] + [f"nobody-{i}@example.com" for i in range(7)]
    forms = [ready_form(own) for _ in attempts]
    before = checks(own)
    finished: list[str] = []
    answers: dict[int, int] = {}

    def attempt(i: int) -> None:
        http, token = forms[i]
        data = {"email": attempts[i], "password": "wrong wrong wrong", "signin_token": token}
        answers[i] = http.post("/dashboard/signin", data=data).status_code
        finished.append(f"signin-{i}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 120  # a bound on waiting, not a timing check
        while checks(own) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        # A verification has started; eight of them on two threads take several rounds.
        health = httpx.get(f"{own.url}/healthz", timeout=120)
        finished.append("healthz")
    finally:
        for thread in threads:
            thread.join()
        for http, _ in forms:
            http.close()
    assert health.status_code == 200
    assert set(answers.values()) == {401}, answers
    # /healthz was answered while sign-ins were still being verified, not after them all.
    assert finished.index("healthz") < len(attempts), finished
    assert checks(own) == before + len(attempts)  # one verification per attempt


def test_a_limited_sign_in_spends_no_hash(own: Server) -> None:
    email = add_admin(own, "limited-hash@example.com")
    for address in (email, "nobody-limited@example.com"):
        with httpx.Client(base_url=own.url) as http:
            for _ in range(PER_ACCOUNT):
                before = checks(own)
                assert post_sign_in(http, address, "wrong wrong wrong").status_code == 401
                assert checks(own) == before + 1
            before = checks(own)
            refused = post_sign_in(http, address, PASSWORD)  # the right one, for `email`
            assert refused.status_code == 401 and WRONG in refused.text
            assert checks(own) == before  # refused on the counts alone: no argon2 work
            assert "authrelay_dashboard=" not in refused.headers.get("set-cookie", "")
    with httpx.Client(base_url=own.url) as http:
        before = checks(own)
        other = add_admin(own, "fine-hash@example.com")
        assert post_sign_in(http, other, PASSWORD).status_code == 303
        assert checks(own) == before + 1


def test_verifications_beyond_the_bound_are_refused_not_queued() -> None:
    """The pool itself, in this process: one thread, nothing waiting."""
    stored = hasher.hash(PASSWORD)
    counted: list[int] = []

    async def run() -> list[Any]:
        pool = PasswordChecks(lambda: counted.append(1), workers=1, waiting=0)
        try:
            first = asyncio.ensure_future(pool.verify(stored, PASSWORD))
            await asyncio.sleep(0)  # the first has taken the only slot
            with pytest.raises(SigninsBusy):
                await pool.verify(stored, PASSWORD)
            results = [await first]
            # the slot is free again once the first verification ended
            results.append(await pool.verify(stored, "not the password"))
            results.append(await pool.verify(None, PASSWORD))  # unknown user: never true
            return results
        finally:
            pool.close()

    # On a thread of its own: Playwright's sync API may hold an event loop on this one.
    assert off_loop(asyncio.run, run()) == [True, False, False]
    assert len(counted) == 3  # the refused attempt ran no verification
