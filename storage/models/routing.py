"""Queues, agent states and the contact log (every call and chat, inbound and outbound)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId


class Queue(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    # Business hours in the queue's own time zone; None means always open.
    opens: Mapped[str | None] = mapped_column(String(5))  # "08:00"
    closes: Mapped[str | None] = mapped_column(String(5))  # "20:00"
    days: Mapped[list[int]] = mapped_column(JSONType, default=lambda: [0, 1, 2, 3, 4, 5, 6])
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Where callers go when the queue is closed; None leaves a callback request.
    overflow: Mapped[str | None] = mapped_column(String(64))


class AgentState(Base):
    __tablename__ = "agent_states"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="offline")  # offline|available|busy|wrap_up
    # When the agent last became idle; the longest-idle available agent is offered first.
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    active_contacts: Mapped[int] = mapped_column(Integer, default=0)


# The calls waiting now: routed, not answered, not ended. Few rows however long the log grows
# (storage/routing/live_figures.py WAITING says the same in its queries).
CONTACTS_WAITING = "action = 'route' AND answered_at IS NULL AND ended_at IS NULL"


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_contacts_customer_created", "customer_id", "created_at"),
        Index("ix_contacts_agent_open", "agent_id", "ended_at"),
        # Today's calls for the live report: a range, not a scan of the year.
        Index("ix_contacts_created_at", "created_at"),
        Index(
            "ix_contacts_waiting",
            "queue",
            "created_at",
            postgresql_where=text(CONTACTS_WAITING),
            sqlite_where=text(CONTACTS_WAITING),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # phone | telegram | ...
    direction: Mapped[str] = mapped_column(String(4), default="in")  # in | out
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    from_number: Mapped[str | None] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16), default="route")  # route | reject | callback
    reason: Mapped[str] = mapped_column(String(64), default="")
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ivr_digits: Mapped[str | None] = mapped_column(String(16))
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
