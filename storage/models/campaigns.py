"""Outbound campaigns and their targets: the per-campaign outbox that workers drain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # satisfaction | follow_up | cross_sell | care
    channel: Mapped[str] = mapped_column(String(16))  # telegram | dialer | best
    # draft | scheduled | running | paused | finished | cancelled
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    messages: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)  # language -> template text
    survey_kind: Mapped[str | None] = mapped_column(String(8))  # csat | nps | quest, for satisfaction
    # The questionnaire a satisfaction campaign sends (survey_kind `quest`).
    questionnaire_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("questionnaires.id", ondelete="RESTRICT")
    )
    offer_code: Mapped[str | None] = mapped_column(String(64))  # for cross-sell
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Allowed hours [from, to) and days (Monday = 0) in each customer's own time zone.
    hour_from: Mapped[int] = mapped_column(Integer, default=9)
    hour_to: Mapped[int] = mapped_column(Integer, default=20)
    weekdays: Mapped[list[int]] = mapped_column(JSONType, default=lambda: [0, 1, 2, 3, 4, 5, 6])
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    recurrence_days: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("campaigns.id", ondelete="SET NULL"))
    # Expansion: one worker at a time holds the lease; resumable after a crash.
    expanded: Mapped[bool] = mapped_column(Boolean, default=False)
    expansion_owner: Mapped[str | None] = mapped_column(String(32))
    expansion_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audience_count: Mapped[int | None] = mapped_column(Integer)
    timezones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The send rate's token bucket, shared by every worker through this row.
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An ended campaign's targets by status and skip reason ({"counts": …, "skipped": …}),
    # kept once no target can move any more: its list row is not counted again on every view.
    settled_tallies: Mapped[dict[str, dict[str, int]] | None] = mapped_column(JSONType)


class CampaignTarget(Base):
    """One customer of one campaign: written at expansion, claimed by a worker, then final.

    pending → claimed → sending → sent | failed | blocked | uncertain, or → skipped (a rule
    said no at send time); dialer targets go pending → dialing → answered | no_answer | …"""

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        # Workers claim due targets by it; the supervisor's counts by status and skip reasons
        # read it alone (reason included: an index-only scan on PostgreSQL).
        Index(
            "ix_campaign_targets_due",
            "campaign_id",
            "status",
            "next_attempt_at",
            postgresql_include=["reason"],
        ),
        # A running campaign's send rate: its last five minutes of sends, not all of them.
        Index("ix_campaign_targets_sent", "campaign_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # telegram | dialer | none
    address: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    survey_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # A care greeting: what it greets (birthday, anniversary, holiday:<key>) and the end of
    # that day in the customer's zone, after which it is no longer sent.
    occasion: Mapped[str | None] = mapped_column(String(48))
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CareGreeting(Base):
    """A customer greeted (or being greeted) for an occasion in a year: at most one row, so no
    second care run, worker or campaign greets them again for it (issue 18)."""

    __tablename__ = "care_greetings"
    __table_args__ = (UniqueConstraint("customer_id", "occasion", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    occasion: Mapped[str] = mapped_column(String(48))  # birthday | anniversary | holiday:<key>
    year: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferConversion(Base):
    """A customer said yes to an offer: from a campaign's button or an agent's disposition."""

    __tablename__ = "offer_conversions"
    __table_args__ = (UniqueConstraint("customer_id", "offer_code", "campaign_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    offer_code: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("campaigns.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | phone | console
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
