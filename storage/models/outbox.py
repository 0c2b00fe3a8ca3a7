"""Messages to customers waiting to be sent by a channel's sender (the Telegram sender drains it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "channel", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # telegram | ...
    # Where to send it on that channel (a Telegram chat id), resolved when queued.
    address: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # complaint_update | satisfaction_question | survey | ...
    template: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # pending | sending | sent | failed | blocked | unreachable | uncertain (at-most-once kinds)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Repeated triggers (a retried webhook) must not queue the same message twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a sender took the row; a row still `sending` long after is retried.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
