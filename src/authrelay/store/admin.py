"""Dashboard users, their sessions and failed sign-in counters: queries."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authrelay.store.models import AdminSession, AdminUser, SigninFailures


async def user_by_email(session: AsyncSession, email: str) -> AdminUser | None:
    return await session.scalar(select(AdminUser).where(AdminUser.email == email))


async def users(session: AsyncSession) -> list[AdminUser]:
    """Every dashboard user, by email."""
    return list(await session.scalars(select(AdminUser).order_by(AdminUser.email)))


async def end_sessions_of(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(AdminSession).where(AdminSession.user_id == user_id))


async def end_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash))


async def signed_in(session: AsyncSession, token_hash: str) -> tuple[AdminSession, str] | None:
    """The session with this token hash and its user's email, or None."""
    found = await session.execute(
        select(AdminSession, AdminUser.email)
        .join(AdminUser, AdminUser.id == AdminSession.user_id)
        .where(AdminSession.token_hash == token_hash)
    )
    pair = found.first()
    return None if pair is None else pair.tuple()


async def failures(session: AsyncSession, key: str) -> SigninFailures | None:
    return await session.get(SigninFailures, key)


async def clear_failures(session: AsyncSession, key: str) -> None:
    await session.execute(delete(SigninFailures).where(SigninFailures.key == key))
