"""Tier proposals: read for supervisors, decided, and the approved downgrades applied on
their day. Nothing here commits: the use case owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, TierProposal


@dataclass(frozen=True)
class ProposalRecord:
    id: int
    review_id: int
    customer_id: int
    customer_name: str
    from_tier: str
    to_tier: str
    direction: str  # up | down
    spend: Decimal  # over the six months
    abc: str
    late_months: int
    complaints: int  # in the year before the review
    holdings: int
    customer_since: date | None
    score: Decimal
    state: str  # pending | approved | applied | rejected | superseded
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    effective_at: datetime | None
    notice_at: datetime | None
    applied_at: datetime | None
    created_at: datetime


def _record(p: TierProposal, name: str) -> ProposalRecord:
    return ProposalRecord(
        p.id, p.review_id, p.customer_id, name, p.from_tier, p.to_tier, p.direction, p.spend, p.abc,
        p.late_months, p.complaints, p.holdings, p.customer_since, p.score, p.state, p.decided_by,
        p.decided_at, p.reason, p.effective_at, p.notice_at, p.applied_at, p.created_at,
    )  # fmt: skip


async def listed(
    session: AsyncSession,
    *,
    state: str | None,
    direction: str | None,
    after: int,
    limit: int,
    customer_id: int | None = None,
) -> list[ProposalRecord]:
    """In id order (the review writes the best-ranked first within each tier), `after` an id."""
    query = (
        select(TierProposal, Customer.name)
        .join(Customer, Customer.id == TierProposal.customer_id)
        .where(TierProposal.id > after)
        .order_by(TierProposal.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(TierProposal.state == state)
    if direction is not None:
        query = query.where(TierProposal.direction == direction)
    if customer_id is not None:
        query = query.where(TierProposal.customer_id == customer_id)
    return [_record(p, name) for p, name in (await session.execute(query)).all()]


async def counts(session: AsyncSession) -> dict[tuple[str, str, str], int]:
    """Proposals by (state, from tier, to tier)."""
    query = select(TierProposal.state, TierProposal.from_tier, TierProposal.to_tier, func.count()).group_by(
        TierProposal.state, TierProposal.from_tier, TierProposal.to_tier
    )
    return {(s, f, t): n for s, f, t, n in (await session.execute(query)).all()}


async def locked(session: AsyncSession, proposal_id: int) -> ProposalRecord | None:
    """The proposal, locked for the caller's transaction (two supervisors deciding it at
    once: the second finds it decided)."""
    query = (
        select(TierProposal, Customer.name)
        .join(Customer, Customer.id == TierProposal.customer_id)
        .where(TierProposal.id == proposal_id)
        .with_for_update(of=TierProposal)
    )
    row = (await session.execute(query)).first()
    return None if row is None else _record(row[0], row[1])


async def decide(
    session: AsyncSession,
    proposal_id: int,
    *,
    state: str,
    by: str,
    at: datetime,
    reason: str,
    effective_at: datetime | None,
    notice_at: datetime | None,
    applied_at: datetime | None,
) -> None:
    await session.execute(
        update(TierProposal)
        .where(TierProposal.id == proposal_id)
        .values(
            state=state,
            decided_by=by,
            decided_at=at,
            reason=reason,
            effective_at=effective_at,
            notice_at=notice_at,
            applied_at=applied_at,
        )
    )


async def due(session: AsyncSession, now: datetime, limit: int = 500) -> list[ProposalRecord]:
    """Approved downgrades whose day has come, locked; other workers skip them."""
    query = (
        select(TierProposal, Customer.name)
        .join(Customer, Customer.id == TierProposal.customer_id)
        .where(TierProposal.state == "approved", TierProposal.effective_at <= now)
        .order_by(TierProposal.effective_at, TierProposal.id)
        .limit(limit)
        .with_for_update(of=TierProposal, skip_locked=True)
    )
    return [_record(p, name) for p, name in (await session.execute(query)).all()]


async def mark_applied(session: AsyncSession, proposal_ids: Sequence[int], now: datetime) -> None:
    await session.execute(
        update(TierProposal).where(TierProposal.id.in_(proposal_ids)).values(state="applied", applied_at=now)
    )


async def counts_of_review(session: AsyncSession, review_id: int) -> dict[str, int]:
    """A review's proposals by "from→to"."""
    query = (
        select(TierProposal.from_tier, TierProposal.to_tier, func.count())
        .where(TierProposal.review_id == review_id)
        .group_by(TierProposal.from_tier, TierProposal.to_tier)
    )
    return {f"{f}→{t}": n for f, t, n in (await session.execute(query)).all()}


async def tiers_once_applied(session: AsyncSession) -> dict[str, int]:
    """Gradable customers by tier as they will be once the approved downgrades take effect."""
    query = (
        select(Customer.tier, func.count())
        .where(Customer.blacklisted.is_(False), Customer.merged_into_id.is_(None))
        .group_by(Customer.tier)
    )
    counts = {tier: n for tier, n in (await session.execute(query)).all()}
    waiting = (
        select(TierProposal.from_tier, TierProposal.to_tier, func.count())
        .where(TierProposal.state == "approved")
        .group_by(TierProposal.from_tier, TierProposal.to_tier)
    )
    for old, new, n in (await session.execute(waiting)).all():
        counts[old] = counts.get(old, 0) - n
        counts[new] = counts.get(new, 0) + n
    return counts


async def by_ids(session: AsyncSession, proposal_ids: Sequence[int]) -> list[ProposalRecord]:
    query = (
        select(TierProposal, Customer.name)
        .join(Customer, Customer.id == TierProposal.customer_id)
        .where(TierProposal.id.in_(list(proposal_ids)))
    )
    return [_record(p, name) for p, name in (await session.execute(query)).all()]
