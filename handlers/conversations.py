"""Chat conversation state (where a customer is in a flow, what they entered so far), kept in
the database so that any instance continues any conversation; each write is committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import telegram as repo


async def read(session: AsyncSession, key: str) -> tuple[str | None, dict[str, Any]]:
    """The conversation's state and data; (None, {}) for one never written."""
    return await repo.read_conversation(session, key)


async def save_state(session: AsyncSession, key: str, state: str | None) -> None:
    await repo.write_conversation(session, key, state=state, set_state=True)
    await session.commit()


async def save_data(session: AsyncSession, key: str, data: dict[str, Any]) -> None:
    await repo.write_conversation(session, key, data=data, set_data=True)
    await session.commit()
