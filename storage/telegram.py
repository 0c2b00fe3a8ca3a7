"""Telegram bookkeeping: handled updates (exactly once), conversation state, blocked chats.
Nothing here commits: the use case that calls it owns the transaction."""

from __future__ import annotations

from datetime import datetime
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
    return (await session.execute(statement)).first() is not None


async def release_update(session: AsyncSession, update_id: int) -> None:
    """Handling failed: let Telegram's retry be handled."""
    await session.execute(delete(TelegramUpdate).where(TelegramUpdate.update_id == update_id))


async def forget_updates_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget the updates received before `cutoff`; returns how many."""
    result = await session.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


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
    await session.flush()


async def mark_blocked(session: AsyncSession, chat_id: str, at: datetime) -> None:
    statement = (
        dialect_insert(session)(TelegramBlockedChat)
        .values(chat_id=chat_id, blocked_at=at)
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )
    await session.execute(statement)


async def is_blocked(session: AsyncSession, chat_id: str) -> bool:
    found = await session.execute(
        select(TelegramBlockedChat.chat_id).where(TelegramBlockedChat.chat_id == chat_id)
    )
    return found.first() is not None


async def unblock(session: AsyncSession, chat_id: str) -> None:
    """The chat writes to the bot again, so it no longer blocks it."""
    await session.execute(delete(TelegramBlockedChat).where(TelegramBlockedChat.chat_id == chat_id))


async def add_rejected_update(session: AsyncSession, *, raw: str, error: str, at: datetime) -> None:
    session.add(TelegramRejectedUpdate(raw=raw, error=error, received_at=at))
    await session.flush()
