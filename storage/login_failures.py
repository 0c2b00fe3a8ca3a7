"""Failed sign-ins, kept in the database so a lockout holds on every instance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginFailure

# The columns are this wide; a longer login or address is cut, never an error.
WIDTH = 64


async def record(session: AsyncSession, *, login: str, address: str, at: datetime) -> None:
    session.add(LoginFailure(at=at, login=login[:WIDTH], address=address[:WIDTH]))
    await session.flush()


async def latest_for_login(
    session: AsyncSession, login: str, *, since: datetime, limit: int
) -> list[datetime]:
    """The times of the newest `limit` failures for a login since a moment, newest first."""
    result = await session.execute(
        select(LoginFailure.at)
        .where(LoginFailure.login == login[:WIDTH], LoginFailure.at >= since)
        .order_by(LoginFailure.at.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def latest_for_address(
    session: AsyncSession, address: str, *, since: datetime, limit: int
) -> list[datetime]:
    result = await session.execute(
        select(LoginFailure.at)
        .where(LoginFailure.address == address[:WIDTH], LoginFailure.at >= since)
        .order_by(LoginFailure.at.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def forget_login(session: AsyncSession, login: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.login == login[:WIDTH]))


async def prune(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.at < before))
