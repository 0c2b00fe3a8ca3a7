"""What a supervisor watches: targets by outcome, the recent send rate, survey answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CampaignTarget, Survey


async def status_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(CampaignTarget.status, func.count())
        .where(CampaignTarget.campaign_id == campaign_id)
        .group_by(CampaignTarget.status)
    )
    return {str(status): int(n) for status, n in rows.all()}


async def skip_reasons(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(CampaignTarget.reason, func.count())
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "skipped")
        .group_by(CampaignTarget.reason)
    )
    return {str(reason): int(n) for reason, n in rows.all()}


async def sent_since(session: AsyncSession, campaign_id: int, since: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(CampaignTarget)
                .where(
                    CampaignTarget.campaign_id == campaign_id,
                    # The status narrows the walk to the (campaign, status) index prefix.
                    CampaignTarget.status.in_(("sent", "answered")),
                    CampaignTarget.sent_at >= since,
                )
            )
        ).scalar_one()
    )


async def survey_responses(session: AsyncSession, campaign_id: int) -> tuple[int, int, float | None]:
    """(surveys sent, answered, average score) for a satisfaction campaign."""
    row = (
        await session.execute(
            select(func.count(), func.count(Survey.answered_at), func.avg(Survey.score)).where(
                Survey.campaign_id == campaign_id
            )
        )
    ).one()
    return int(row[0]), int(row[1]), None if row[2] is None else float(row[2])
