"""Dashboard users: accounts (argon2id), sessions in the database, and sign-in limits.

A session cookie holds a random token; the database keeps only its SHA-256, so any replica
can answer and a leaked database row cannot be replayed. Sessions end at sign-out, at the
next sign-in of the same browser (rotation), and after an idle timeout.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from authrelay.dashboard.passwords import PasswordChecks, hasher
from authrelay.errors import AlreadyExists, InvalidArgument, NotFound
from authrelay.store import AsyncSession
from authrelay.store import admin as store
from authrelay.store.db import as_utc, new_id, utcnow
from authrelay.store.models import AdminSession, AdminUser, SigninFailures

MIN_PASSWORD = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_TOUCH_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class SignedIn:
    email: str
    csrf_token: str


@dataclass(frozen=True)
class SigninLimits:
    per_account: int
    per_address: int
    window_seconds: int


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InvalidArgument.field("email", "must be an email address")
    return value


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidArgument.field("password", f"must be at least {MIN_PASSWORD} characters")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_user(session: AsyncSession, email: str, password: str) -> str:
    address = normalize_email(email)
    check_password(password)
    if await store.user_by_email(session, address) is not None:
        raise AlreadyExists(f"a dashboard user {address!r} already exists")
    now = utcnow()
    session.add(
        AdminUser(
            id=new_id("usr"),
            email=address,
            password_hash=hasher.hash(password),
            created_at=now,
            updated_at=now,
        )
    )
    await session.commit()
    return address


async def list_users(session: AsyncSession) -> list[AdminUser]:
    return await store.users(session)


async def _user(session: AsyncSession, email: str) -> AdminUser:
    address = normalize_email(email)
    row = await store.user_by_email(session, address)
    if row is None:
        raise NotFound(f"no dashboard user {address!r}")
    return row


async def remove_user(session: AsyncSession, email: str) -> None:
    row = await _user(session, email)
    await store.end_sessions_of(session, row.id)
    await session.delete(row)
    await session.commit()


async def set_password(session: AsyncSession, email: str, password: str) -> None:
    """A new password also ends every session of the user."""
    check_password(password)
    row = await _user(session, email)
    row.password_hash = hasher.hash(password)
    row.updated_at = utcnow()
    await store.end_sessions_of(session, row.id)
    await session.commit()


# ---------------------------------------------------------------------------- sign-in


async def _failures(session: AsyncSession, key: str, window: int) -> int:
    row = await store.failures(session, key)
    if row is None or as_utc(row.window_started_at) + timedelta(seconds=window) < utcnow():
        return 0
    return row.failures


async def _count_failure(session: AsyncSession, key: str, window: int) -> None:
    row = await store.failures(session, key)
    now = utcnow()
    if row is None:
        session.add(SigninFailures(key=key, failures=1, window_started_at=now))
    elif as_utc(row.window_started_at) + timedelta(seconds=window) < now:
        row.failures, row.window_started_at = 1, now
    else:
        row.failures += 1


async def sign_in(
    session: AsyncSession,
    checks: PasswordChecks,
    email: str,
    password: str,
    address: str,
    limits: SigninLimits,
    previous_token: str | None,
) -> str | None:
    """The new session's token, or None (wrong email or password, or too many failures:
    the caller gives one answer for all three). The cheap checks come first: an email or
    address over its limit is refused without spending a password hash (the answer says
    nothing of whether the email exists, as the limit is kept per email typed). Otherwise
    the hash is verified off the event loop, against a dummy of the same cost for an
    unknown email; raises SigninsBusy when too many verifications are under way."""
    address_key = f"ip:{address}"
    account_key = f"email:{email.strip().lower()[:300]}"
    too_many = (
        await _failures(session, account_key, limits.window_seconds) >= limits.per_account
        or await _failures(session, address_key, limits.window_seconds) >= limits.per_address
    )
    user_id: str | None = None
    if not too_many:
        row = await store.user_by_email(session, email.strip().lower())
        user_id, password_hash = (row.id, row.password_hash) if row else (None, None)
        # The verification takes a while: end the read transaction (and give the
        # connection back to the pool) rather than hold it across the hash.
        await session.rollback()
        if not await checks.verify(password_hash, password):
            user_id = None
    if previous_token:
        await store.end_session(session, _digest(previous_token))
    if user_id is None:
        await _count_failure(session, account_key, limits.window_seconds)
        await _count_failure(session, address_key, limits.window_seconds)
        await session.commit()
        return None
    await store.clear_failures(session, account_key)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AdminSession(
            token_hash=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.commit()
    return token


async def current(session: AsyncSession, token: str | None, idle_seconds: int) -> SignedIn | None:
    """The signed-in user of a session token, or None (unknown, or idle too long: ended)."""
    if not token:
        return None
    pair = await store.signed_in(session, _digest(token))
    if pair is None:
        await session.rollback()
        return None
    row, email = pair
    signed_in = SignedIn(email, row.csrf_token)
    now = utcnow()
    seen = as_utc(row.last_seen_at)
    if seen + timedelta(seconds=idle_seconds) < now:
        await session.delete(row)
        await session.commit()
        return None
    if now - seen > min(_TOUCH_EVERY, timedelta(seconds=idle_seconds / 4)):
        row.last_seen_at = now
        await session.commit()
    else:
        await session.rollback()
    return signed_in


async def sign_out(session: AsyncSession, token: str | None) -> None:
    if token:
        await store.end_session(session, _digest(token))
        await session.commit()
