"""Telegram bookkeeping: handled updates (exactly once), conversation state, blocked chats."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models.base import utcnow
from storage.models.telegram import (
    TelegramBlockedChat,
    TelegramConversation,
    TelegramRejectedUpdate,
    TelegramUpdate,
)


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """True for the first delivery of this update anywhere; False for a repeat."""
    statement = (
        dialect_insert(session)(TelegramUpdate)
        .values(update_id=update_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(TelegramUpdate.update_id)
    )
    claimed = (await session.execute(statement)).first() is not None
    await session.commit()
    return claimed


async def release_update(session: AsyncSession, update_id: int) -> None:
    """Handling failed: let Telegram's retry be handled."""
    await session.execute(delete(TelegramUpdate).where(TelegramUpdate.update_id == update_id))
    await session.commit()


async def forget_old_updates(session: AsyncSession, older_than: timedelta = timedelta(days=2)) -> None:
    await session.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < utcnow() - older_than))
    await session.commit()


async def read_conversation(session: AsyncSession, key: str) -> tuple[str | None, dict[str, Any]]:
    row = await session.get(TelegramConversation, key, populate_existing=True)
    return (None, {}) if row is None else (row.state, dict(row.data or {}))


async def write_conversation(
    session: AsyncSession,
    key: str,
    *,
    state: str | None = None,
    data: dict[str, Any] | None = None,
    set_state: bool = False,
    set_data: bool = False,
) -> None:
    row = await session.get(TelegramConversation, key)
    if row is None:
        row = TelegramConversation(key=key, state=None, data={})
        session.add(row)
    if set_state:
        row.state = state
    if set_data:
        row.data = dict(data or {})
    row.updated_at = utcnow()
    await session.commit()


async def mark_blocked(session: AsyncSession, chat_id: str, at: datetime) -> None:
    statement = (
        dialect_insert(session)(TelegramBlockedChat)
        .values(chat_id=chat_id, blocked_at=at)
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )
    await session.execute(statement)


async def unblock(session: AsyncSession, chat_id: str) -> None:
    await session.execute(delete(TelegramBlockedChat).where(TelegramBlockedChat.chat_id == chat_id))


async def is_blocked(session: AsyncSession, chat_id: str) -> bool:
    found = await session.execute(
        select(TelegramBlockedChat.chat_id).where(TelegramBlockedChat.chat_id == chat_id)
    )
    return found.scalar_one_or_none() is not None


async def add_rejected_update(session: AsyncSession, *, raw: str, error: str, at: datetime) -> None:
    session.add(TelegramRejectedUpdate(raw=raw, error=error, received_at=at))
    await session.flush()
