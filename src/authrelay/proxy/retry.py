"""The provider's `retry` policy (SPEC §3a): another attempt when the upstream answers one of
`on_status`, for idempotent methods whose body the proxy kept, after the wait its
`Retry-After` asks (seconds or an HTTP date) when that is within `max_wait_seconds`, else
after an exponential backoff with jitter. Only routes with a policy get here."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from authrelay_client.providers.model import RetryPolicy

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE_SECONDS = 0.5  # the first backoff is 0.25-0.5 s, then doubles each attempt
_random = secrets.SystemRandom()


def retry_after(value: str, now: float) -> float | None:
    """Seconds a `Retry-After` value asks to wait (RFC 9110 10.2.3: delay seconds or an
    HTTP date; a date in the past means now), or None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value) if len(value) <= 10 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        return None
    return max(0.0, when.timestamp() - now)


def backoff(attempt: int, cap: float) -> float:
    """Exponential backoff with jitter before attempt `attempt + 1`: half of the doubled
    base for certain, the other half at random, never above `cap`."""
    ceiling = min(cap, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return float(ceiling / 2 + _random.uniform(0, ceiling / 2))


def wait_before_next(
    headers: Any, attempt: int, policy: RetryPolicy, now: float | None = None
) -> float | None:
    """How long to wait before another attempt, or None when the upstream asked for longer
    than `max_wait_seconds` (its answer, with its Retry-After, goes back to the caller)."""
    asked = headers.get("Retry-After")
    if asked:
        seconds = retry_after(asked, time.time() if now is None else now)
        if seconds is not None:
            return seconds if seconds <= policy.max_wait_seconds else None
    return backoff(attempt, policy.max_wait_seconds)


async def with_retries(
    response: aiohttp.ClientResponse,
    policy: RetryPolicy,
    again: Callable[[], Awaitable[aiohttp.ClientResponse]],
    info: dict[str, Any],
) -> aiohttp.ClientResponse:
    """The answer after at most `policy.max_attempts` attempts in all (`response` is the
    first); `info` (the proxy's log line) gets `retries` and `retry_wait_ms` when any."""
    attempt = 1
    waited = 0.0
    while attempt < policy.max_attempts and response.status in policy.on_status:
        wait = wait_before_next(response.headers, attempt, policy)
        if wait is None:
            break
        response.release()
        await asyncio.sleep(wait)
        waited += wait
        response = await again()
        attempt += 1
    if attempt > 1:
        info["retries"] = attempt - 1
        info["retry_wait_ms"] = round(waited * 1000, 1)
    return response
