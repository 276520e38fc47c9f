"""A real Chromium (Debian's, driven by Playwright) against the real server process.

One browser for the whole session; each test gets a fresh context (cookies) whose every
request is logged, so a test can show that nothing but the server was contacted."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from authrelay.config import Settings
from authrelay.dashboard import users
from authrelay.store import db
from tests.conftest import keep
from tests.support.cli import run_authrelay
from tests.support.servers import Server

CHROMIUM = os.environ.get("AUTHRELAY_TEST_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("AUTHRELAY_TEST_SCREENSHOTS", ROOT / "test-results" / "dashboard"))
PASSWORD = "a long test passphrase"
ADMIN = "ops@example.com"


def off_loop(fn: Any, *args: Any) -> Any:
    """Run a helper that uses asyncio.run on another thread (Playwright's sync API keeps an
    event loop on this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def add_admin(server: Server, email: str, password: str = PASSWORD) -> str:
    """A dashboard user, written straight to the store (the CLI is tested in tests/cli)."""

    async def add() -> str:
        settings = Settings(
            data_dir=server.backend.data_dir, database_url=server.backend.database_url
        )
        engine = db.create_engine(settings.resolved_database_url)
        try:
            async with db.session_factory(engine)() as session:
                return await users.add_user(session, email, password)
        finally:
            await engine.dispose()

    return str(off_loop(asyncio.run, add()))


def add_admin_with_cli(server: Server, email: str, password: str = PASSWORD) -> str:
    proc = run_authrelay(["admin", "add", email], server.backend.env(), stdin=password + "\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return email


@pytest.fixture(scope="package")
def chromium(backend: Any) -> Iterator[Browser]:
    """One browser for this package's tests. Package scope, not session: Playwright's sync
    API keeps an event loop running on this thread while it is open, which tests elsewhere
    (asyncio.run) must not meet. It depends on the backend so that it is closed before the
    next backend (PostgreSQL after SQLite) is set up with asyncio.run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def admin(server: Server, kept: dict[tuple[str, str], Any]) -> str:
    return keep(kept, "admin", server.backend.name, lambda: add_admin_with_cli(server, ADMIN))


@dataclass
class Visit:
    """A browser tab, with every URL it requested and every console message."""

    page: Page
    server: Server
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.url + path

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None and response.status < 500, path

    def sign_in(
        self, email: str = ADMIN, password: str = PASSWORD, path: str = "/dashboard/"
    ) -> None:
        self.goto(path)
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def foreign_requests(self) -> list[str]:
        own = f"127.0.0.1:{self.server.port}"
        return [u for u in self.requests if urlsplit(u).netloc != own and not u.startswith("data:")]

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def shot(self, name: str, full_page: bool = True) -> None:
        """A screenshot for people to look at (test-results/dashboard), taken on SQLite
        only: the pages are the same on every backend, and the shots take seconds."""
        if self.server.backend.name != "sqlite":
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def visit(chromium: Browser, server: Server, admin: str) -> Iterator[Visit]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    v = Visit(page, server)
    context.on("request", lambda request: v.requests.append(request.url))
    page.on("console", lambda message: v.console.append(message.text))
    page.on("dialog", lambda dialog: dialog.accept())
    yield v
    context.close()
    assert not v.foreign_requests(), v.foreign_requests()
    assert not v.csp_violations(), v.csp_violations()
