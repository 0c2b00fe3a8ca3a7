"""What a supervisor watches: targets by outcome, the recent send rate, survey answers.

Each query answers for several campaigns at once, grouped by campaign: the console's list
shows a dozen campaigns, and a query per campaign per figure was sixty round trips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, CampaignTarget, OfferConversion, Survey


async def status_counts(session: AsyncSession, campaign_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """Campaign id → its targets counted by status (walks the (campaign, status) index only)."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if campaign_ids:
        rows = await session.execute(
            select(CampaignTarget.campaign_id, CampaignTarget.status, func.count())
            .where(CampaignTarget.campaign_id.in_(campaign_ids))
            .group_by(CampaignTarget.campaign_id, CampaignTarget.status)
        )
        for campaign_id, status, n in rows.all():
            found[int(campaign_id)][str(status)] = int(n)
    return found


async def skip_reasons(session: AsyncSession, campaign_ids: Collection[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if campaign_ids:
        rows = await session.execute(
            select(CampaignTarget.campaign_id, CampaignTarget.reason, func.count())
            .where(CampaignTarget.campaign_id.in_(campaign_ids), CampaignTarget.status == "skipped")
            .group_by(CampaignTarget.campaign_id, CampaignTarget.reason)
        )
        for campaign_id, reason, n in rows.all():
            found[int(campaign_id)][str(reason)] = int(n)
    return found


async def sent_since(session: AsyncSession, campaign_ids: Collection[int], since: datetime) -> dict[int, int]:
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(CampaignTarget.campaign_id, func.count())
        .where(
            CampaignTarget.campaign_id.in_(campaign_ids),
            # Walks the (campaign, sent_at) index from `since`: the recent sends only.
            CampaignTarget.sent_at >= since,
            CampaignTarget.status.in_(("sent", "answered")),
        )
        .group_by(CampaignTarget.campaign_id)
    )
    return {int(campaign_id): int(n) for campaign_id, n in rows.all()}


async def survey_responses(
    session: AsyncSession, campaign_ids: Collection[int]
) -> dict[int, tuple[int, int, float | None]]:
    """Campaign id → (surveys sent, answered, average score), for satisfaction campaigns."""
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(Survey.campaign_id, func.count(), func.count(Survey.answered_at), func.avg(Survey.score))
        .where(Survey.campaign_id.in_(campaign_ids))
        .group_by(Survey.campaign_id)
    )
    return {
        int(campaign_id): (int(sent), int(answered), None if average is None else float(average))
        for campaign_id, sent, answered, average in rows.all()
    }


async def conversions(session: AsyncSession, campaign_ids: Collection[int]) -> dict[int, int]:
    """Campaign id → offers accepted through it, for cross-sell campaigns."""
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(OfferConversion.campaign_id, func.count())
        .where(OfferConversion.campaign_id.in_(campaign_ids))
        .group_by(OfferConversion.campaign_id)
    )
    return {int(campaign_id): int(n) for campaign_id, n in rows.all() if campaign_id is not None}


async def settle(session: AsyncSession, campaign_id: int, tallies: dict[str, dict[str, int]]) -> None:
    """Keep an ended campaign's final tallies (the first writer wins; they are the same)."""
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.settled_tallies.is_(None))
        .values(settled_tallies=tallies)
    )
