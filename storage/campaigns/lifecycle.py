"""A campaign's state over its life: a supervisor's moves, dead workers' leases, the end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaigns.views import OPEN_STATES
from storage.models import Campaign, CampaignTarget


async def move(
    session: AsyncSession,
    campaign_id: int,
    from_states: tuple[str, ...],
    *,
    to_state: str,
    finished_at: datetime | None = None,
) -> bool:
    """Change a campaign only from the given states; False when it was in another.
    A `finished_at` is written when given (a cancel), left as it is otherwise."""
    statement = (
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state.in_(from_states))
        .values(state=to_state)
    )
    if finished_at is not None:
        statement = statement.values(finished_at=finished_at)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def close_open_targets(session: AsyncSession, campaign_id: int, status: str) -> int:
    """Pending targets of a cancelled or ended campaign become final (`cancelled`, `expired`)."""
    result = await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "pending")
        .values(status=status)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def sweep(session: AsyncSession, now: datetime, lease: timedelta) -> dict[str, int]:
    """Leases of dead workers: an unsent claim goes back to `pending` (safe to send later);
    a target that was on the wire becomes `uncertain` and is never sent again automatically
    (Telegram cannot tell us whether it arrived); a dial with no result is dialled again.
    Per campaign, so that each statement walks the (campaign, status) index, not the table."""
    counts = {"released": 0, "uncertain": 0, "redial": 0}
    active = await session.execute(
        select(Campaign.id, Campaign.state).where(Campaign.state.in_(("running", "paused", "cancelled")))
    )
    expired = CampaignTarget.claimed_at < now - lease
    for campaign_id, state in active.all():
        this = CampaignTarget.campaign_id == campaign_id
        back = "cancelled" if state == "cancelled" else "pending"
        steps: tuple[tuple[str, str, dict[str, Any]], ...] = (
            ("released", "claimed", {"status": back, "claim_token": None}),
            ("uncertain", "sending", {"status": "uncertain", "error": "the worker died while sending"}),
            (
                "redial",
                "dialing",
                {"status": back, "claim_token": None, "error": "no result from the dialer"},
            ),
        )
        for key, status, values in steps:
            result = await session.execute(
                update(CampaignTarget)
                .execution_options(synchronize_session=False)
                .where(this, CampaignTarget.status == status, expired)
                .values(**values)
            )
            counts[key] += int(result.rowcount)  # type: ignore[attr-defined]
    return counts


async def finish_campaigns(session: AsyncSession, now: datetime) -> list[int]:
    """Running campaigns with nothing left to do, or past their end, are finished."""
    finished: list[int] = []
    rows = await session.execute(select(Campaign).where(Campaign.state.in_(("running", "paused"))))
    for campaign in rows.scalars().all():
        if campaign.ends_at is not None and campaign.ends_at <= now:
            await close_open_targets(session, campaign.id, "expired")
        elif campaign.state == "paused" or not campaign.expanded:
            continue
        open_left = (
            await session.execute(
                select(CampaignTarget.id)
                .where(CampaignTarget.campaign_id == campaign.id, CampaignTarget.status.in_(OPEN_STATES))
                .limit(1)
            )
        ).first()
        if open_left is None:
            campaign.state, campaign.finished_at = "finished", now
            finished.append(campaign.id)
    return finished
