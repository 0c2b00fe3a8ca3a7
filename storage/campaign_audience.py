"""A campaign's audience as SQL over the whole customer base: one WHERE clause per filter.

The same clause serves the count a supervisor sees before starting and the expansion's
INSERT … SELECT, so the two cannot disagree about who is in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.sql import Select

from storage.models import Complaint, Contact, Customer, Holding, Product, Survey

# Complaints in these states are still open (the same rule as the offer ranking).
CLOSED_STATES = ("resolved", "closed")
SAMPLE_BUCKETS = 10_000


@dataclass(frozen=True)
class Audience:
    tiers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()  # holds any of these product codes
    lacks: tuple[str, ...] = ()  # holds none of these
    last_contact_before: date | None = None  # no contact on or after this day (never counts)
    last_contact_after: date | None = None  # some contact on or after this day
    complaint_resolved_within_days: int | None = None
    csat_at_most: int | None = None  # the latest answered CSAT is at or below this
    sample_share: float | None = None  # a reproducible random share, 0 < share ≤ 1
    sample_seed: int = 0
    cap: int | None = None
    # Care campaigns: what they greet (birthday, anniversary, holiday; all when empty). Not a
    # filter here: a care run picks the day's occasions itself (storage/campaigns/care.py).
    occasions: tuple[str, ...] = ()
    # Someone with a complaint lodged or a contact within this many days (the 回访 follow-up).
    contacted_within_days: int | None = None


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


def eligible() -> ColumnElement[bool]:
    """Nobody blacklisted, opted out or merged away is ever in a campaign."""
    return and_(
        Customer.blacklisted.is_(False),
        Customer.marketing_opt_out.is_(False),
        Customer.merged_into_id.is_(None),
    )


def open_complaint_exists(customer_id: Any) -> ColumnElement[bool]:
    return exists().where(Complaint.customer_id == customer_id, Complaint.state.not_in(CLOSED_STATES))


def conditions(audience: Audience, *, kind: str, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [eligible()]
    if audience.tiers:
        where.append(Customer.tier.in_(audience.tiers))
    if audience.regions:
        where.append(Customer.region.in_(audience.regions))
    if audience.holds:
        where.append(
            exists()
            .where(Holding.customer_id == Customer.id, Holding.product_id == Product.id)
            .where(Product.code.in_(audience.holds))
        )
    if audience.lacks:
        where.append(
            ~exists()
            .where(Holding.customer_id == Customer.id, Holding.product_id == Product.id)
            .where(Product.code.in_(audience.lacks))
        )
    if audience.last_contact_before is not None:
        where.append(
            ~exists().where(
                Contact.customer_id == Customer.id, Contact.created_at >= _day(audience.last_contact_before)
            )
        )
    if audience.last_contact_after is not None:
        where.append(
            exists().where(
                Contact.customer_id == Customer.id, Contact.created_at >= _day(audience.last_contact_after)
            )
        )
    if audience.complaint_resolved_within_days is not None:
        since = now - timedelta(days=audience.complaint_resolved_within_days)
        where.append(
            exists().where(
                Complaint.customer_id == Customer.id,
                Complaint.resolved_at.is_not(None),
                Complaint.resolved_at >= since,
            )
        )
    if audience.csat_at_most is not None:
        latest = (
            select(Survey.score)
            .where(Survey.customer_id == Customer.id, Survey.kind == "csat", Survey.answered_at.is_not(None))
            .order_by(Survey.answered_at.desc(), Survey.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        where.append(latest <= audience.csat_at_most)
    if audience.contacted_within_days is not None:
        since = now - timedelta(days=audience.contacted_within_days)
        where.append(
            or_(
                exists().where(Contact.customer_id == Customer.id, Contact.created_at >= since),
                exists().where(Complaint.customer_id == Customer.id, Complaint.created_at >= since),
            )
        )
    if audience.sample_share is not None and audience.sample_share < 1:
        # A multiplicative hash of the id: the same customers on both engines, every time.
        bucket = (Customer.id * 7919 + audience.sample_seed) % SAMPLE_BUCKETS
        where.append(bucket < literal(int(audience.sample_share * SAMPLE_BUCKETS)))
    if kind == "cross_sell":
        where.append(~open_complaint_exists(Customer.id))
    return where


def customer_ids(audience: Audience, *, kind: str, now: datetime) -> Select[Any]:
    return select(Customer.id).where(*conditions(audience, kind=kind, now=now))


def count_query(audience: Audience, *, kind: str, now: datetime) -> Select[Any]:
    ids = customer_ids(audience, kind=kind, now=now)
    if audience.cap is not None:
        ids = ids.order_by(Customer.id).limit(audience.cap)
    inner = ids.subquery()
    return select(func.count()).select_from(inner)


def cap_boundary(audience: Audience, *, kind: str, now: datetime) -> Select[Any] | None:
    """The id of the last customer a capped audience takes (expansion stops there)."""
    if audience.cap is None:
        return None
    inner = customer_ids(audience, kind=kind, now=now).order_by(Customer.id).limit(audience.cap).subquery()
    return select(func.max(inner.c.id))
