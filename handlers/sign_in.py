"""Signing in with a password, with limits on failures per login and per client address.

Failures are rows in the database, so every instance sees the same count. A locked login
is refused without checking the password at all, the right one included."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import TooManyAttempts
from handlers.passwords import Passwords
from storage import login_failures as failures
from storage import users
from storage.models.base import utcnow
from storage.users import UserRecord


@dataclass(frozen=True)
class SignInLimits:
    login_max_failures: int  # failures for one login within `window` that lock it
    address_max_failures: int  # the same for one client address, whatever the logins
    window: timedelta
    lockout: timedelta


def _locked_until(newest_first: list[datetime], limit: int, limits: SignInLimits) -> datetime | None:
    # Failures are not recorded while locked, so the newest of the last `limit` failures is
    # the one that set the lock, and the lock runs from it.
    if len(newest_first) < limit:
        return None
    if newest_first[0] - newest_first[limit - 1] > limits.window:
        return None
    return newest_first[0] + limits.lockout


async def _refuse_if_locked(
    session: AsyncSession, limits: SignInLimits, login: str, address: str, now: datetime
) -> None:
    since = now - limits.window - limits.lockout
    by_login = _locked_until(
        await failures.latest_for_login(session, login, since=since, limit=limits.login_max_failures),
        limits.login_max_failures,
        limits,
    )
    by_address = _locked_until(
        await failures.latest_for_address(session, address, since=since, limit=limits.address_max_failures),
        limits.address_max_failures,
        limits,
    )
    until = max((t for t in (by_login, by_address) if t is not None), default=None)
    if until is not None and until > now:
        raise TooManyAttempts(
            "too many failed sign-ins; try again later",
            retry_after=max(1, math.ceil((until - now).total_seconds())),
            until=until.isoformat(),
        )


async def sign_in(
    session: AsyncSession,
    passwords: Passwords,
    limits: SignInLimits,
    *,
    login: str,
    password: str,
    address: str,
) -> UserRecord | None:
    """The user, or None for a wrong login or password; TooManyAttempts while locked."""
    await _refuse_if_locked(session, limits, login, address, utcnow())
    stored = await users.password_hash(session, login)  # None for unknown and disabled logins
    # Hand the connection back while the hash runs: queued sign-ins must not hold the pool.
    await session.commit()
    if not await passwords.verify(stored, password):
        now = utcnow()
        await failures.record(session, login=login, address=address, at=now)
        await failures.prune(session, before=now - limits.window - limits.lockout)
        await session.commit()
        return None
    await failures.forget_login(session, login)
    user = await users.get_by_login(session, login)
    await session.commit()
    return user if user is not None and user.active else None
