"""Dashboard passwords: the argon2id hasher, and verification off the event loop.

One argon2id verification costs ~0.3 s of CPU and 64 MiB. Run on the event loop, each
sign-in attempt held up every other request of the worker for that long, so the server
verifies on a few threads of its own (argon2-cffi releases the GIL while it hashes), and
admits only so many verifications at once: beyond that a sign-in is refused at once rather
than queued, so a flood of attempts cannot pile up work (or memory) without bound.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from authrelay.errors import AuthrelayError
from authrelay_client.codes import Code

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

#: Threads that verify (each verification holds ~64 MiB while it runs), and how many more
#: attempts may wait for one of them before further attempts are refused.
WORKERS = 2
WAITING = 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


# Verified against when the email is unknown, so both answers take as long: a well-formed
# hash with the hasher's own parameters and a random salt and digest (no password has it).
# Written out rather than computed, so importing this module (every CLI command, every server
# start) does not spend an argon2 hash.
DUMMY_HASH = (
    f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    f"${_b64(secrets.token_bytes(hasher.salt_len))}${_b64(secrets.token_bytes(hasher.hash_len))}"
)


class SigninsBusy(AuthrelayError):
    """More sign-in attempts are being verified or waiting than the server admits."""

    code = Code.UNAVAILABLE
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class PasswordChecks:
    """Verifies passwords on a small thread pool; made by the runtime, closed with it."""

    def __init__(
        self, counted: Callable[[], None], workers: int = WORKERS, waiting: int = WAITING
    ) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="password-check")
        self._slots = threading.BoundedSemaphore(workers + waiting)
        self._counted = counted  # called once per argon2 verification run

    def _verify(self, password_hash: str, password: str) -> bool:
        self._counted()
        try:
            return bool(hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`; with None (no such user) a
        verification of the same cost against a hash no password has, and False."""
        if not self._slots.acquire(blocking=False):
            raise SigninsBusy("too many sign-in attempts at once; try again in a moment")
        try:
            future = self._pool.submit(self._verify, password_hash or DUMMY_HASH, password)
        except BaseException:
            self._slots.release()
            raise
        # Released when the verification ends or is cancelled before it started, not when
        # the waiting request goes away: the bound counts the work the pool really holds.
        future.add_done_callback(lambda _: self._slots.release())
        ok = await asyncio.wrap_future(future)
        return ok and password_hash is not None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
