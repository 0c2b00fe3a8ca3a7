"""The chat inbox: a customer's conversation with a person (Chatwoot's model: open, pending
(waiting for an agent here), resolved) and its messages, incoming and outgoing. Not the
bot's flow state, which is `telegram_conversations`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId

# A conversation still in the inbox: waiting for an agent, or owned by one.
LIVE = "state IN ('waiting', 'open')"


class InboxConversation(Base):
    __tablename__ = "inbox_conversations"
    __table_args__ = (
        # At most one live conversation per customer: a second "talk to a person" finds it.
        Index(
            "ix_inbox_conversations_live_customer",
            "customer_id",
            unique=True,
            postgresql_where=text(LIVE),
            sqlite_where=text(LIVE),
        ),
        # The waiting line, served by priority then age; and an agent's open chats.
        Index("ix_inbox_conversations_state_queue", "state", "queue", "priority", "created_at"),
        Index("ix_inbox_conversations_agent_state", "agent_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    # Where replies go on that channel (a Telegram chat id).
    address: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | open | resolved
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(64), default="")  # the routing rule's name
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The customer's language when it must be the agent's too (the rule's agent_language).
    agent_language: Mapped[str | None] = mapped_column(String(8))
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposition: Mapped[str | None] = mapped_column(String(64))
    survey_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("surveys.id", ondelete="SET NULL"))


class InboxMessage(Base):
    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_conversation", "conversation_id", "id"),
        # A Telegram message stored once however often its update is delivered.
        UniqueConstraint("conversation_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(4))  # in (the customer) | out (an agent)
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    # A photo the customer sent, as Telegram's file_id (like complaint photos).
    photo: Mapped[str | None] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An outgoing message's delivery: pending | sent | failed | blocked | uncertain (its outbox row's fate).
    delivery: Mapped[str | None] = mapped_column(String(16))
