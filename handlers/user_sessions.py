"""Console sessions held on the server: sign-out and disabling a user end them everywhere.

The cookie carries a random token; the database keeps only its SHA-256, as for API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.accounts import token_digest
from storage import user_sessions as repo
from storage.models.base import utcnow
from storage.users import UserRecord

# last_seen_at is for people reading the table, not for security: one write a minute is plenty.
TOUCH_EVERY = timedelta(minutes=1)


async def start(session: AsyncSession, user: UserRecord, *, max_age: timedelta) -> str:
    """A new session for a user who just signed in; the token goes into the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await repo.prune(session, created_before=now - max_age)
    await repo.add(session, id=token_digest(token), user_id=user.id, at=now)
    await session.commit()
    return token


async def user_for(session: AsyncSession, token: str, *, max_age: timedelta) -> UserRecord | None:
    """The user a cookie's token stands for, if the session is still live and the user active."""
    now = utcnow()
    found = await repo.live(session, token_digest(token), created_after=now - max_age)
    if found is None:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        await repo.touch(session, found.id, now)
        await session.commit()
    return found.user


async def end(session: AsyncSession, token: str) -> None:
    await repo.end(session, token_digest(token), utcnow())
    await session.commit()
