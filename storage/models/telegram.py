"""Telegram bookkeeping: updates already handled, conversation state, chats that blocked us."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow


class TelegramUpdate(Base):
    """An update_id we have handled: Telegram re-delivers until it gets a 200, and several
    instances may receive the same update, so the database decides who handles it."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TelegramConversation(Base):
    """aiogram FSM state and data per chat and user, shared by every instance."""

    __tablename__ = "telegram_conversations"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TelegramBlockedChat(Base):
    __tablename__ = "telegram_blocked_chats"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TelegramRejectedUpdate(Base):
    """An update aiogram could not parse: answered 200 so Telegram stops re-delivering it,
    kept here with the error for someone to inspect."""

    __tablename__ = "telegram_rejected_updates"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
