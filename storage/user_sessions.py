"""Console sessions held on the server: the cookie names a row, and the row can be ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User, UserSession
from storage.users import UserRecord, to_user


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user: UserRecord
    last_seen_at: datetime


async def add(session: AsyncSession, *, id: str, user_id: int, at: datetime) -> None:
    session.add(UserSession(id=id, user_id=user_id, created_at=at, last_seen_at=at))
    await session.flush()


async def live(session: AsyncSession, id: str, *, created_after: datetime) -> SessionRecord | None:
    """The session if it is neither ended nor too old and its user is still active."""
    result = await session.execute(
        select(UserSession.id, UserSession.last_seen_at, User)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.id == id,
            UserSession.ended_at.is_(None),
            UserSession.created_at > created_after,
            User.active.is_(True),
        )
    )
    row = result.one_or_none()
    return None if row is None else SessionRecord(id=row[0], last_seen_at=row[1], user=to_user(row[2]))


async def touch(session: AsyncSession, id: str, at: datetime) -> None:
    await session.execute(update(UserSession).where(UserSession.id == id).values(last_seen_at=at))


async def end(session: AsyncSession, id: str, at: datetime) -> None:
    await session.execute(
        update(UserSession).where(UserSession.id == id, UserSession.ended_at.is_(None)).values(ended_at=at)
    )


async def end_all_for_user(session: AsyncSession, user_id: int, at: datetime) -> int:
    result = await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def prune(session: AsyncSession, *, created_before: datetime) -> None:
    """Rows past the longest a session may live: dead whether or not they were ended."""
    await session.execute(delete(UserSession).where(UserSession.created_at < created_before))
