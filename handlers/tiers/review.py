"""Run the tier review (`contactdesk tiers review`, and the worker once per period): grade
every customer and leave proposals for supervisors to decide. It changes no tier."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.tiers.policy import TierPolicy
from storage import tier_proposals as proposals_repo
from storage import tier_review as repo
from storage.audit import Actor, audit
from storage.tier_review import ReviewRecord, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewOutcome:
    review: ReviewRecord
    superseded: int  # undecided proposals of an earlier review it replaced
    proposed: dict[str, int]  # new proposals by "from→to"


def _months_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def window(now: datetime, zone: ZoneInfo) -> Window:
    """The six complete months before the review's month, in the operator's calendar."""
    today = now.astimezone(zone).date()
    this_month = today.replace(day=1)

    def years_ago(n: int) -> date:
        return today.replace(year=today.year - n, day=min(today.day, 28))

    return Window(
        spend_from=_months_back(this_month, 6),
        spend_to=this_month,
        complaints_since=now - timedelta(days=365),
        two_years_ago=years_ago(2),
        five_years_ago=years_ago(5),
    )


def quota(share: float, customers: int) -> int:
    """The most customers a share allows: 15% of 100 is 15, never 14 from a float's error."""
    return int((Decimal(str(share)) * customers).to_integral_value(rounding=ROUND_FLOOR))


async def run_review(
    session: AsyncSession, actor: Actor, policy: TierPolicy, now: datetime, *, follows: int | None = None
) -> ReviewOutcome | None:
    """One review in one transaction, or None when another is running right now (or, given
    the review a worker found last, `follows`, when another has run since)."""
    review_id = await repo.claim(
        session, by=actor.name, now=now, timeout_seconds=policy.timeout_seconds, follows=follows
    )
    if review_id is None:
        await session.rollback()
        return None
    graded = await repo.gradable(session)
    vip = quota(policy.limits.shares.get("vip", 0.0), graded)
    preferred = quota(policy.limits.shares.get("preferred", 0.0), graded)
    superseded = await repo.supersede_pending(session)
    span = window(now, ZoneInfo(policy.timezone))
    made = await repo.grade(
        session,
        review_id,
        window=span,
        weights=policy.weights,
        vip_quota=vip,
        preferred_quota=preferred,
        now=now,
    )
    revenue = await repo.revenue(session, span)
    await repo.finish(
        session,
        review_id,
        now=now,
        graded=graded,
        proposals=made,
        vip_quota=vip,
        preferred_quota=preferred,
        revenue=revenue,
    )
    await audit(
        session,
        actor=actor,
        action="tier.review",
        customer_id=None,
        subject_type="tier_review",
        subject_id=review_id,
        details={
            "graded": graded,
            "proposals": made,
            "superseded": superseded,
            "vip": vip,
            "preferred": preferred,
        },
    )
    await session.commit()
    counts = await proposals_repo.counts_of_review(session, review_id)
    review = await repo.get(session, review_id)
    log.info("tier review %s: %s customers graded, %s proposals", review_id, graded, made)
    return ReviewOutcome(review, superseded, counts)


def is_due(last: ReviewRecord | None, now: datetime, policy: TierPolicy) -> bool:
    """Once in each period of the calendar (January and July for six months)."""
    if policy.every_months <= 0:
        return False
    return last is None or policy.period(last.started_at) < policy.period(now)
