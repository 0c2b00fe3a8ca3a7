"""The half-yearly tier review: each customer's monthly spend and payment record (what the
review grades from), each review run, and the proposals it makes for supervisors to decide."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.customers import BigId


class MonthlySpend(Base):
    """What a customer was billed for one month and whether they paid it late: fed by
    `contactdesk import spend` (or the billing system) and by the demo."""

    __tablename__ = "customer_monthly_spend"

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_late: Mapped[bool] = mapped_column(Boolean, default=False)


class TierReview(Base):
    """One run of the review. `follows` is the review before it (0 for the first) and is
    unique: two workers that both find a review due both try to follow the same one, and
    only one of them can, so the review runs once."""

    __tablename__ = "tier_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    follows: Mapped[int] = mapped_column(BigId, unique=True)
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    graded: Mapped[int] = mapped_column(Integer, default=0)  # customers graded (not blacklisted)
    proposals: Mapped[int] = mapped_column(Integer, default=0)
    vip_quota: Mapped[int] = mapped_column(Integer, default=0)
    preferred_quota: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))  # the six months'


class TierProposal(Base):
    """A change of tier the review proposes, with the figures behind it. pending → approved
    (a downgrade waiting for its day) → applied, or pending → rejected, or superseded by a
    newer review; an approved upgrade is applied at once."""

    __tablename__ = "tier_proposals"
    __table_args__ = (
        Index("ix_tier_proposals_state", "state", "id"),
        Index("ix_tier_proposals_customer_id", "customer_id"),
        Index("ix_tier_proposals_due", "state", "effective_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    review_id: Mapped[int] = mapped_column(BigId, ForeignKey("tier_reviews.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    from_tier: Mapped[str] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))  # up | down
    # The figures: spend over the six months, its ABC class, late months, complaints in a
    # year, products held, customer since, and the score the ranking used.
    spend: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    abc: Mapped[str] = mapped_column(String(1))
    late_months: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[int] = mapped_column(Integer)
    holdings: Mapped[int] = mapped_column(Integer)
    customer_since: Mapped[date | None] = mapped_column(Date)
    score: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
