"""What every dashboard page shares: templates, security headers, the signed-in user, CSRF,
the environment of the page and the principal the services act as."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authrelay.api.deps import DbSession, RuntimeDep
from authrelay.auth.principal import Principal
from authrelay.dashboard import users
from authrelay.errors import AuthrelayError, FieldViolation
from authrelay.http_headers import parse_host
from authrelay.runtime import Runtime
from authrelay.store import AsyncSession
from authrelay.store import environments as envs

PREFIX = "/dashboard"
COOKIE = "authrelay_dashboard"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
templates = Environment(
    loader=PackageLoader("authrelay.dashboard", "templates"),
    autoescape=select_autoescape(["html"]),
)


class SignInRequired(Exception):
    """No valid session: the handler sends the browser to sign-in, then back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageNotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def secure(runtime: Runtime) -> bool:
    return runtime.settings.base_url.startswith("https://")


def safe_next(value: str | None) -> str:
    """Only paths inside the dashboard; anything else (other hosts too) goes home."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//"):
        return PREFIX + "/"
    if "\\" in value or any(ord(c) < 32 for c in value):
        return PREFIX + "/"
    return value


def render(template: str, status: int = HTTPStatus.OK, **context: Any) -> HTMLResponse:
    html = templates.get_template(template).render(prefix=PREFIX, **context)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(location: str) -> Response:
    response = RedirectResponse(location, status_code=HTTPStatus.SEE_OTHER)
    response.headers.update(SECURITY_HEADERS)
    return response


def _back_to(request: Request) -> str:
    """Where to return after sign-in: this page, or for a form post the page it came from."""
    if request.method == "GET":
        path = request.url.path
        return path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if parse_host(referer.netloc) == parse_host(request.headers.get("host", "")) != ("", None):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return PREFIX + "/"


def signin_location(next_path: str) -> str:
    return f"{PREFIX}/signin?next={quote(safe_next(next_path), safe='/')}"


async def signed_in(request: Request, runtime: RuntimeDep, session: DbSession) -> users.SignedIn:
    user = await users.current(
        session, request.cookies.get(COOKIE), runtime.settings.dashboard_session_idle_seconds
    )
    if user is None:
        raise SignInRequired(_back_to(request))
    return user


CurrentUser = Annotated[users.SignedIn, Depends(signed_in)]


class Form:
    """A posted form whose CSRF token was checked."""

    def __init__(self, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        self.values = values
        self.lists = lists

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def all(self, name: str) -> list[str]:
        return self.lists.get(name, [])


class CsrfRejected(Exception):
    pass


async def checked_form(request: Request, user: CurrentUser) -> Form:
    data = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for key, value in data.multi_items():
        if isinstance(value, str):
            values.setdefault(key, value)
            lists.setdefault(key, []).append(value)
    sent = values.get("csrf", "")
    if not sent or not secrets.compare_digest(sent.encode(), user.csrf_token.encode()):
        raise CsrfRejected()
    return Form(values, lists)


PostedForm = Annotated[Form, Depends(checked_form)]


@dataclass(frozen=True)
class Page:
    """The environment a page is about, and who is looking."""

    user: users.SignedIn
    environment: envs.EnvironmentInfo
    environments: list[envs.EnvironmentInfo]
    runtime: Runtime
    session: AsyncSession
    section: str

    @property
    def principal(self) -> Principal:
        return Principal(self.environment.id, "dashboard", actor_name=self.user.email)

    @property
    def base(self) -> str:
        return f"{PREFIX}/{quote(self.environment.name)}"

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "user": self.user,
            "env": self.environment,
            "environments": self.environments,
            "base": self.base,
            "section": self.section,
            "csrf": self.user.csrf_token,
            **extra,
        }

    def render(self, template: str, status: int = HTTPStatus.OK, **extra: Any) -> HTMLResponse:
        return render(template, status, **self.context(**extra))


async def environment_page(
    env: str, request: Request, user: CurrentUser, runtime: RuntimeDep, session: DbSession
) -> Page:
    found = await envs.get_environment(session, env)
    all_envs = await envs.list_environments(session)
    await session.rollback()  # services start their own transactions on this session
    if found is None or found.name != env:
        raise PageNotFound(f"no environment named {env!r}")
    section = request.url.path.removeprefix(f"{PREFIX}/{env}").strip("/").split("/")[0]
    return Page(user, found, all_envs, runtime, session, section or "home")


EnvPage = Annotated[Page, Depends(environment_page)]


def field_errors(exc: AuthrelayError) -> dict[str, str]:
    """Field path → message, from an error's violations (or its message under "")."""
    if not exc.violations:
        return {"": exc.message}
    out: dict[str, str] = {}
    for v in exc.violations:
        out[v.field] = f"{out[v.field]}; {v.description}" if v.field in out else v.description
    return out


def violation(field: str, message: str) -> list[FieldViolation]:
    return [FieldViolation(field, message)]
