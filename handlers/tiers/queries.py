"""What supervisors read of the tier review: the proposals, the last review, the counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import tier_proposals as repo
from storage import tier_review
from storage.tier_proposals import ProposalRecord
from storage.tier_review import ReviewRecord


async def proposals(
    session: AsyncSession, *, state: str | None, direction: str | None, after: int, limit: int
) -> list[ProposalRecord]:
    return await repo.listed(session, state=state, direction=direction, after=after, limit=limit)


async def customer_proposals(session: AsyncSession, customer_id: int) -> list[ProposalRecord]:
    """A customer's proposals, newest first: what was proposed, decided by whom, and when."""
    found = await repo.listed(
        session, state=None, direction=None, after=0, limit=1000, customer_id=customer_id
    )
    return sorted((p for p in found if p.state != "superseded"), key=lambda p: p.id, reverse=True)[:20]


@dataclass(frozen=True)
class Overview:
    review: ReviewRecord | None
    counts: dict[str, dict[str, int]]  # state → "from→to" → proposals


async def overview(session: AsyncSession) -> Overview:
    review = await tier_review.latest(session)
    counts: dict[str, dict[str, int]] = {}
    for (state, old, new), n in (await repo.counts(session)).items():
        counts.setdefault(state, {})[f"{old}→{new}"] = n
    return Overview(review, counts)
