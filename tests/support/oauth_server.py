"""A real OAuth 2.0 authorization server for end-to-end tests: panva's ``oidc-provider`` on
Node.js, started from ``tests/oauth_server/server.js`` on a free loopback port.

Nothing here implements OAuth: the server is the OpenID-certified library, configured for
authrelay's needs (see the comments in ``server.js``). This module only installs its npm
dependencies, starts and stops it, and drives its development login/consent pages the way a
browser would.

Quirks worth knowing when writing tests against it:

* Scopes: only scopes listed in the config (``openid``, ``offline_access`` and ``scopes``) are
  granted; any other requested scope is silently dropped from the code and the tokens.
* Refresh tokens are issued to every client allowed the ``refresh_token`` grant, without
  ``offline_access``; they rotate on every use. Presenting a used refresh token again is
  ``invalid_grant`` *and* revokes the whole grant (reuse detection): the newer refresh token and
  the grant's access tokens die with it.
* Consent: the dev pages ask for consent whenever the browser session has no grant covering the
  requested scopes, so a fresh cookie jar (the default of :func:`complete_login`) always sees
  login then consent.
* Deny: the dev pages have no "deny" button; their "[ Cancel ]" link is the interaction's abort
  endpoint ``GET /interaction/<uid>/abort``, which finishes the interaction with
  ``access_denied`` ("End-User aborted interaction"). :func:`complete_login` with
  ``approve=False`` follows that link on the consent page, so the flow ends at the client's
  ``redirect_uri`` with ``error=access_denied`` (plus ``state`` and ``iss``).
* Client authentication: oidc-provider accepts ``client_secret_basic`` and
  ``client_secret_post`` interchangeably; ``server.js`` refuses the one a client is not
  registered with (``invalid_client``) unless started with ``strict_client_auth=False``.
* Userinfo (``/me``) answers only for access tokens whose scope includes ``openid``; the
  test-only resource ``GET /api/whoami`` accepts any valid access token.
* Client credentials: a client registered with ``"grant_types": ["client_credentials"]``
  (and ``"scope"``, the scopes it may ask for) gets tokens from ``/token`` without a user;
  ``/api/whoami`` accepts them too (``sub`` null, ``client_id`` set). ``stats()`` has the
  form of the last token request, without ``client_secret``, as ``last_token_params``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.servers import free_port

OAUTH_SERVER_DIR = Path(__file__).resolve().parent.parent / "oauth_server"
DEFAULT_SCOPES = ["openid", "offline_access", "email", "profile", "read", "write"]
READY_TIMEOUT = 30.0
NPM_TIMEOUT = 600.0


class OAuthServerError(RuntimeError):
    """The test OAuth server could not be installed, started or driven."""


# --------------------------------------------------------------------------------------------
# Installing and starting
# --------------------------------------------------------------------------------------------


def _pinned_version() -> str:
    package = json.loads((OAUTH_SERVER_DIR / "package.json").read_text())
    return str(package["dependencies"]["oidc-provider"])


def _installed_version() -> str | None:
    manifest = OAUTH_SERVER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def ensure_node_modules() -> None:
    """Install the server's npm dependencies from its lockfile unless they are already there."""
    if shutil.which("node") is None:
        raise OAuthServerError(
            "the test OAuth server needs Node.js (>= 20) on PATH: `node` was not found "
            "(on Debian: apt-get install nodejs npm)"
        )
    if _installed_version() == _pinned_version():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise OAuthServerError(
            f"{OAUTH_SERVER_DIR}/node_modules is missing and `npm` was not found to install it"
        )
    lock_path = Path(tempfile.gettempdir()) / "authrelay-oauth-server-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time (e.g. under pytest-xdist)
        try:
            if _installed_version() == _pinned_version():
                return
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=OAUTH_SERVER_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if proc.returncode != 0:
        raise OAuthServerError(
            f"`npm ci` in {OAUTH_SERVER_DIR} failed ({proc.returncode}):\n"
            f"{proc.stdout}\n{proc.stderr}"
        )


@dataclass
class OAuthServer:
    """A running oidc-provider. ``url`` is its issuer; endpoint URLs come from discovery."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    config_path: Path
    discovery: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return str(self.discovery.get("issuer", self.url))

    @property
    def authorize_url(self) -> str:
        return str(self.discovery["authorization_endpoint"])

    @property
    def token_url(self) -> str:
        return str(self.discovery["token_endpoint"])

    @property
    def userinfo_url(self) -> str:
        return str(self.discovery["userinfo_endpoint"])

    @property
    def revocation_url(self) -> str:
        return str(self.discovery["revocation_endpoint"])

    @property
    def introspection_url(self) -> str:
        return str(self.discovery["introspection_endpoint"])

    @property
    def whoami_url(self) -> str:
        """The test-only protected resource: 200 {sub, scope, client_id, token_suffix} or 401."""
        return f"{self.url}/api/whoami"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        with httpx.Client(timeout=10.0) as http:
            resp = http.request(method, f"{self.url}{path}", **kwargs)
        resp.raise_for_status()
        return resp.json()

    def stats(self) -> dict[str, Any]:
        """{"token_requests": N, "token_requests_by_grant": {...}, "userinfo_requests": N,
        "last_token_params": {...}}."""
        return dict(self._request("GET", "/__stats"))

    def reset(self) -> None:
        """Zero the counters (tokens, grants and sessions are kept)."""
        self._request("POST", "/__reset")

    def revoke_refresh(self, sub: str | None = None) -> int:
        """Destroy the refresh tokens of account ``sub`` (all when None); returns how many."""
        params = {} if sub is None else {"sub": sub}
        return int(self._request("POST", "/__revoke_refresh", params=params)["revoked"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> OAuthServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> bool:
    """True once the server printed READY; False if it exited first. Raises on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if any(line.startswith("READY ") for line in text.splitlines()):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    raise OAuthServerError(
        f"the test OAuth server printed no READY line within {timeout:.0f}s:\n"
        + (log_path.read_text(errors="replace") if log_path.exists() else "")
    )


def start_oauth_server(
    tmp_dir: Path,
    clients: list[dict[str, Any]],
    access_token_ttl: int = 3600,
    *,
    scopes: list[str] | None = None,
    refresh_token_ttl: int | None = None,
    strict_client_auth: bool = True,
) -> OAuthServer:
    """Start oidc-provider on a free loopback port with these clients (oidc-provider client
    metadata; grant_types default to authorization_code + refresh_token, response_types to
    code, token_endpoint_auth_method to client_secret_basic). Call ``.stop()`` when done.

    ``strict_client_auth`` (default) makes the token, revocation and introspection endpoints
    refuse a client that authenticates with the other secret method than the one it is
    registered with (oidc-provider alone accepts client_secret_basic and client_secret_post
    interchangeably)."""
    ensure_node_modules()
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for _attempt in range(3):  # the free port may be taken before node binds it
        port = free_port()
        config: dict[str, Any] = {
            "port": port,
            "clients": clients,
            "access_token_ttl": access_token_ttl,
            "scopes": list(DEFAULT_SCOPES if scopes is None else scopes),
            "strict_client_auth": strict_client_auth,
        }
        if refresh_token_ttl is not None:
            config["refresh_token_ttl"] = refresh_token_ttl
        config_path = tmp_dir / f"oauth_server_{port}.json"
        config_path.write_text(json.dumps(config, indent=2))
        log_path = tmp_dir / f"oauth_server_{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["node", "server.js", str(config_path)],
                cwd=OAUTH_SERVER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = OAuthServer(port, process, log_path, config_path)
        try:
            ready = _wait_ready(process, log_path, READY_TIMEOUT)
        except BaseException:
            server.stop()
            raise
        if not ready:
            server.stop()
            last_log = server.log_text()
            if "EADDRINUSE" in last_log:
                continue
            break
        try:
            with httpx.Client(timeout=10.0) as http:
                resp = http.get(f"{server.url}/.well-known/openid-configuration")
                resp.raise_for_status()
                server.discovery = dict(resp.json())
        except BaseException:
            server.stop()
            raise
        return server
    raise OAuthServerError(f"the test OAuth server did not start:\n{last_log}")


# --------------------------------------------------------------------------------------------
# Driving the dev login and consent pages
# --------------------------------------------------------------------------------------------


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    """Collects the forms (action, method, named inputs) and link targets of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.links: list[str] = []
        self._form: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = _Form(attr.get("action", ""), attr.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None and attr.get("name"):
            self._form.fields[attr["name"]] = attr.get("value", "")
        elif tag == "a" and attr.get("href"):
            self.links.append(attr["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _origin(url: str | httpx.URL) -> tuple[str, str]:
    parts = urlsplit(str(url))
    return parts.scheme, parts.netloc


def complete_login(
    authorization_url: str,
    username: str,
    *,
    approve: bool = True,
    http: httpx.Client | None = None,
) -> httpx.Response:
    """Play the browser from ``authorization_url`` to the redirect back to the client.

    Follows the server's redirects, signs in as ``username`` on the dev login page (any password
    is accepted), then approves the consent page, or with ``approve=False`` follows its
    "[ Cancel ]" link (``/interaction/<uid>/abort``), which ends in ``error=access_denied``.
    Returns the first redirect whose target lies outside the OAuth server (the client's
    redirect_uri) without following it: read ``code``/``state`` or ``error`` from its Location.

    ``http`` must not follow redirects by itself; by default a fresh client (a new browser
    session with its own cookies) is used and closed.
    """
    own = http is None
    client = httpx.Client(timeout=10.0, follow_redirects=False) if http is None else http
    try:
        return _drive(client, authorization_url, username, approve)
    finally:
        if own:
            client.close()


def _drive(client: httpx.Client, url: str, username: str, approve: bool) -> httpx.Response:
    server = _origin(url)
    saw_consent = False
    resp = client.get(url)
    for _step in range(20):
        if resp.is_redirect:
            target = urljoin(str(resp.url), resp.headers["location"])
            if _origin(target) != server:
                if not approve and not saw_consent:
                    raise OAuthServerError(
                        "approve=False, but the server redirected to the client without "
                        f"asking for consent: {target}"
                    )
                return resp
            resp = client.get(target)
            continue
        if resp.status_code != 200 or "html" not in resp.headers.get("content-type", ""):
            raise OAuthServerError(
                f"unexpected {resp.status_code} from {resp.url} during login:\n{resp.text[:2000]}"
            )
        page = _PageParser()
        page.feed(resp.text)
        page.close()
        form = next((f for f in page.forms if f.fields.get("prompt")), None)
        if form is None:
            raise OAuthServerError(f"no login or consent form at {resp.url}:\n{resp.text[:2000]}")
        action = urljoin(str(resp.url), form.action or str(resp.url))
        prompt = form.fields["prompt"]
        if prompt == "login":
            data = {**form.fields, "login": username, "password": "any-password"}
            resp = client.post(action, data=data)
        elif prompt == "consent":
            saw_consent = True
            if approve:
                resp = client.post(action, data=form.fields)
            else:
                abort = next((link for link in page.links if link.endswith("/abort")), None)
                abort_url = urljoin(str(resp.url), abort) if abort else f"{action}/abort"
                resp = client.get(abort_url)
        else:
            raise OAuthServerError(f"unknown interaction prompt {prompt!r} at {resp.url}")
    raise OAuthServerError(f"login did not reach the client's redirect_uri: last at {resp.url}")


# --------------------------------------------------------------------------------------------
# authrelay against the server: providers and the user's way through a link
# --------------------------------------------------------------------------------------------


def oauth_provider(
    name: str, oauth_as: OAuthServer, proxy_url: str | None = None, **oauth: Any
) -> dict[str, Any]:
    """The body of `POST /api/v1/custom-providers` for a provider that authorizes users at
    ``oauth_as`` (scopes openid, required, read and write; ``oauth`` adds to its oauth_config)
    and proxies to ``proxy_url`` (the authorization server itself by default)."""
    config = {
        "authorize_uri": oauth_as.authorize_url,
        "token_uri": oauth_as.token_url,
        "user_info_uri": oauth_as.userinfo_url,
        "available_scopes": [
            {"scope": "openid", "required": True},
            {"scope": "read"},
            {"scope": "write"},
        ],
        **oauth,
    }
    return {
        "display_name": name,
        "auth_patterns": [{"type": "OAUTH", "fields": [], "oauth_config": config}],
        "proxy_url": oauth_as.url if proxy_url is None else proxy_url,
        "proxy_enabled": True,
    }


def authorize_to_verification(
    link: str, username: str, verify: ssl.SSLContext | bool = True
) -> tuple[str, dict[str, list[str]]]:
    """Play the user from an authorization link made with a ``user_verify_url``: open it
    (authrelay answers 303 to the authorization server), sign in and approve as ``username``,
    come back to authrelay's callback, which answers 303 to the verify URL. Returns that URL
    and its query (``auth_request_id``, ``state``); the account waits in PENDING_VERIFICATION
    until the app verifies the user with the ``auth_request_id``."""
    with httpx.Client(timeout=10.0, verify=verify) as browser:
        opened = browser.get(link)
        if opened.status_code != 303:
            raise OAuthServerError(f"the link answered {opened.status_code}: {opened.text[:2000]}")
        back = complete_login(opened.headers["location"], username)
        returned = browser.get(back.headers["location"])
        if returned.status_code != 303:
            raise OAuthServerError(
                f"the callback answered {returned.status_code}: {returned.text[:2000]}"
            )
    target = returned.headers["location"]
    return target, parse_qs(urlsplit(target).query)
