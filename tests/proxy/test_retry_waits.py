"""How long the retry policy waits (proxy/retry.py), value by value: Retry-After as delay
seconds or an HTTP date, the max_wait_seconds cap, and backoff with jitter."""

from __future__ import annotations

from email.utils import formatdate

from authrelay.proxy.retry import backoff, retry_after, wait_before_next
from authrelay_client.providers.model import RetryPolicy

NOW = 1_800_000_000.0


def test_retry_after_forms() -> None:
    assert retry_after("3", NOW) == 3.0
    assert retry_after(" 0 ", NOW) == 0.0
    assert retry_after(formatdate(NOW + 7, usegmt=True), NOW) == 7.0
    assert retry_after(formatdate(NOW - 60, usegmt=True), NOW) == 0.0  # past: now
    for bad in ("", "-1", "1.5", "soon", "99999999999", "Mon, 99 Foo 2026 00:00:00 GMT"):
        assert retry_after(bad, NOW) is None, bad


def test_wait_is_capped_by_max_wait_seconds() -> None:
    policy = RetryPolicy(max_attempts=3, max_wait_seconds=5)
    assert wait_before_next({"Retry-After": "5"}, 1, policy, NOW) == 5.0
    assert wait_before_next({"Retry-After": "6"}, 1, policy, NOW) is None  # asks too much
    date = formatdate(NOW + 4, usegmt=True)
    assert wait_before_next({"Retry-After": date}, 1, policy, NOW) == 4.0
    # Unusable Retry-After: backoff instead.
    waited = wait_before_next({"Retry-After": "later"}, 1, policy, NOW)
    assert waited is not None and 0.25 <= waited <= 0.5


def test_backoff_doubles_with_jitter_and_stays_under_the_cap() -> None:
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)):
        waits = [backoff(attempt, 10) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jitter
    assert all(backoff(9, 3) <= 3 for _ in range(100))
    assert backoff(1, 0) == 0
