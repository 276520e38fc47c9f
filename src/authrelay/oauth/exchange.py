"""Token exchange (SPEC §3a): an account's static fields traded for a short-lived token.

The request comes from the pattern's `token_exchange` block, its templates filled with the
account's values; the token is read at `token_path` of the JSON answer. Storing the token
and renewing it under the refresh lease is `exchange_renewal.py`'s work; this module only
talks to the upstream, and its errors never carry the account's values (`authrelay.redact`,
in every encoding).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from authrelay.netguard import BlockedAddress, check_host, unreachable
from authrelay.redact import Redactor
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.model import TokenExchange
from authrelay_client.providers.urls import PLACEHOLDER, fill_placeholders

#: Statuses by which the exchange endpoint refuses the credentials themselves: the account
#: needs new ones (its status becomes EXPIRED). Any other failure leaves it as it is.
REFUSED_STATUSES = frozenset(
    {
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.UNPROCESSABLE_ENTITY,
    }
)
_ANSWER_LIMIT = 1_048_576
_CLIP = 300
_TIMEOUT = aiohttp.ClientTimeout(total=30)


class ExchangeError(Exception):
    """Base: the exchange gave no token. The message names the endpoint and its answer
    (status and a clipped body with the account's values blanked out)."""


class ExchangeRefused(ExchangeError):
    """The endpoint refused the credentials (a status in REFUSED_STATUSES)."""


class ExchangeFailed(ExchangeError):
    """Anything else: unreachable, refused target, another status, an answer without a
    token at `token_path`."""


@dataclass(frozen=True)
class Exchanged:
    token: str = field(repr=False)
    expires_at: float | None


def fill_template(template: str, values: dict[str, str]) -> str:
    """`template` with each {{name}} replaced by its value ("" when the account has none)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def header_value(config: TokenExchange, token: str, values: dict[str, str]) -> str:
    """The credential header's value: `header_template` with the token and the account's
    fields; ValueError when the result would hold CR, LF or NUL."""
    value = fill_template(config.header_template, {**values, "token": token})
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("the exchanged token or a field contains CR, LF or NUL")
    return value


def lookup(answer: Any, path: str) -> Any:
    """The value at a dot path ("data.token", "items.0.token"), or None."""
    current = answer
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def clip(text: str, secrets: list[str]) -> str:
    """`text` safe for an error message: each secret blanked out in every encoding
    (`Redactor`), control characters replaced, at most _CLIP characters."""
    text = Redactor(secrets).text(text)
    text = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()
    return text if len(text) <= _CLIP else text[:_CLIP] + "…"


def endpoint_label(config: TokenExchange) -> str:
    """The endpoint as the definition names it (template, no query): safe to show."""
    parts = urlsplit(config.url)
    return f"{config.method} {parts.scheme}://{parts.netloc}{parts.path}"


def _expires_at(config: TokenExchange, answer: Any) -> float | None:
    if config.expires_in_path:
        raw = lookup(answer, config.expires_in_path)
        if isinstance(raw, bool):
            raw = None
        try:
            seconds = float(raw) if isinstance(raw, int | float | str) else None
        except ValueError:
            seconds = None
        if seconds is not None and seconds == seconds and 0 < seconds < 10**9:
            return time.time() + seconds
    if config.default_ttl_seconds:
        return time.time() + config.default_ttl_seconds
    return None


def _request(
    config: TokenExchange, values: dict[str, str], allowlist: UpstreamAllowlist
) -> tuple[str, dict[str, str], dict[str, str]]:
    label = endpoint_label(config)
    try:
        url = fill_placeholders(config.url, values, allowlist)
    except ValueError as exc:
        raise ExchangeFailed(f"cannot build the token exchange URL ({label}): {exc}") from None
    try:
        check_host(urlsplit(url).hostname or "", allowlist)
    except BlockedAddress as exc:
        raise ExchangeFailed(unreachable(f"the token exchange endpoint {label}", exc)) from None
    headers = {"Accept": "application/json"}
    for name, template in config.headers.items():
        value = fill_template(template, values)
        if any(ch in value for ch in "\r\n\x00"):
            raise ExchangeFailed(f"the token exchange header {name} would hold CR, LF or NUL")
        headers[name] = value
    body = {key: fill_template(template, values) for key, template in config.body.items()}
    return url, headers, body


async def exchange(
    http: aiohttp.ClientSession,
    config: TokenExchange,
    values: dict[str, str],
    allowlist: UpstreamAllowlist,
) -> Exchanged:
    """POST the exchange request and read the token (ExchangeError when there is none)."""
    label = endpoint_label(config)
    url, headers, body = _request(config, values, allowlist)
    payload: dict[str, Any] = {"json": body} if config.body_format == "json" else {"data": body}
    try:
        async with http.request(
            config.method,
            url,
            headers=headers,
            allow_redirects=False,
            timeout=_TIMEOUT,
            **payload,
        ) as response:
            status = response.status
            raw = await response.content.read(_ANSWER_LIMIT)
    except (aiohttp.ClientError, OSError) as exc:  # OSError: the guard, timeouts
        raise ExchangeFailed(unreachable(f"the token exchange endpoint {label}", exc)) from None
    text = raw.decode("utf-8", errors="replace")
    shown = clip(text, list(values.values())) or "(empty body)"
    if status >= 300:
        kind = ExchangeRefused if status in REFUSED_STATUSES else ExchangeFailed
        raise kind(f"the token exchange endpoint {label} answered HTTP {status}: {shown}")
    try:
        answer = json.loads(text)
    except ValueError:
        raise ExchangeFailed(
            f"the token exchange endpoint {label} answered HTTP {status} with a body that is "
            f"not JSON: {shown}"
        ) from None
    token = lookup(answer, config.token_path)
    if not isinstance(token, str) or not token:
        raise ExchangeFailed(
            f"the token exchange endpoint {label} answered HTTP {status} without a string at "
            f"token_path {config.token_path!r}"
        )
    if any(ch in token for ch in "\r\n\x00") or len(token) > 16384:
        raise ExchangeFailed(
            f"the token exchange endpoint {label} answered a token that cannot be sent in a "
            "header (CR, LF or NUL, or longer than 16384 characters)"
        )
    return Exchanged(token, _expires_at(config, answer))
