"""Satisfaction surveys (CSAT 1–5, NPS 0–10), deadline timers and supervisor alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.customers import BigId


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_customer_open", "customer_id", "answered_at"),
        # The weekly scores read a range of weeks from the index alone (an index-only scan on
        # PostgreSQL; SQLite has no INCLUDE and gets a plain index on created_at).
        Index("ix_surveys_created_scores", "created_at", postgresql_include=["kind", "answered_at", "score"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # csat | nps | quest (a questionnaire)
    trigger: Mapped[str] = mapped_column(String(16))  # complaint | call | campaign | periodic
    channel: Mapped[str] = mapped_column(String(16))  # telegram | phone | rasa | api
    complaint_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("complaints.id", ondelete="SET NULL"), index=True
    )
    # Contacts and campaigns are tables of later features: plain ids, no foreign key.
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    # The sender's own id for what triggered the survey (`twilio:<CallSid>`): a repeated
    # callback finds the same survey instead of creating another.
    external_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    # A questionnaire's survey: its answers are rows of survey_answers, one per question.
    questionnaire_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True
    )


class ComplaintTimer(Base):
    """A deadline to watch; the escalation worker claims due rows (SKIP LOCKED on PostgreSQL)."""

    __tablename__ = "complaint_timers"
    __table_args__ = (Index("ix_complaint_timers_due", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # acknowledge | resolve
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the deadline was met (the step happened) or when it fired (escalated).
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated: Mapped[bool] = mapped_column(default=False)


# An alert is open until it is cleared: acknowledged by a supervisor, or settled.
OPEN_ALERT = "cleared_at IS NULL"


class Alert(Base):
    """Something a supervisor must act on: a breached deadline, a score below target."""

    __tablename__ = "alerts"
    __table_args__ = (
        # The open few, newest first, and their count, without walking every alert ever raised.
        Index("ix_alerts_open", "id", sqlite_where=text(OPEN_ALERT), postgresql_where=text(OPEN_ALERT)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    complaint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("complaints.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    # When it left the open list: a supervisor acknowledged it, or what it warned of is settled.
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The supervisor who acknowledged it (on the dashboard or through the API), if one did.
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
