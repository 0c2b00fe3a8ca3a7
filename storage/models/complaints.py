"""Complaints and their event trail."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_customer_state", "customer_id", "state"),
        # Open complaints by age and deadline are counted from the index alone on PostgreSQL.
        Index("ix_complaints_state_ages", "state", postgresql_include=["created_at", "resolve_due_at"]),
        # The workbench lists complaints by resolve deadline, soonest first, LIMIT 50: this
        # index walks them in that order, and on PostgreSQL carries the columns the list
        # filters on, so a rare filter is checked in the index, not row by row (migration 0009).
        Index(
            "ix_complaints_resolve_due",
            "resolve_due_at",
            "id",
            postgresql_include=["state", "severity", "category", "channel", "assignee_id", "customer_id"],
        ),
        Index(
            "ix_complaints_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
        Index("ix_complaints_assignee_due", "assignee_id", "resolve_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="standard")  # standard | urgent
    # received | acknowledged | investigating | resolved | reopened | closed
    state: Mapped[str] = mapped_column(String(16), default="received")
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))  # telegram | phone | rasa | api | console
    department: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    resolution: Mapped[str | None] = mapped_column(Text)
    compensation: Mapped[str | None] = mapped_column(Text)
    # What the compensation is worth, so the operator's approval rule can compare it.
    compensation_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # False when lodged by a sender whose identity no channel vouched for (a number typed
    # into a chat): agents verify it with the customer before acting, and the customer is
    # not notified.
    verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The number such a sender gave, as normalised.
    claimed_phone: Mapped[str | None] = mapped_column(String(32))
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # The agent working on it; none while it waits in its department's pile.
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first deadline it breached since it was last resolved (the supervisors' escalations
    # queue, oldest first); cleared when it is resolved.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # A resolution waiting for a supervisor's approval (its compensation is above the
    # operator's limit): set while it waits, cleared when approved or rejected. It is kept
    # apart from `resolution` and `compensation`, which stay what the customer was told.
    approval_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    approval_requested_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    approval_requested_by: Mapped[str | None] = mapped_column(String(200))  # the name then
    approval_resolution: Mapped[str | None] = mapped_column(Text)
    approval_compensation: Mapped[str | None] = mapped_column(Text)
    approval_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class ComplaintEvent(Base):
    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # customer | user | system
    kind: Mapped[str] = mapped_column(String(32))  # created | transition | escalated | note | notified
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
