"""The supervisor's list of campaigns: every one that may still move, then the latest ended
ones a page at a time (a year of campaigns is not read, nor counted, on every view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.progress import progress_of
from storage.campaigns import definitions as repo
from storage.campaigns import progress as progress_repo
from storage.campaigns.views import FINAL_STATES, CampaignView
from storage.models.base import utcnow

ENDED_PER_PAGE = 20
# After this, nothing moves an ended campaign's targets: the sweep has settled every claim and
# a send slower than its lease has long been recorded.
SETTLES_AFTER = timedelta(hours=1)
# A target a worker or the dialer still holds; an ended campaign's pending ones are never sent.
IN_FLIGHT = ("claimed", "sending", "dialing")


@dataclass(frozen=True)
class Overview:
    rows: list[tuple[CampaignView, dict[str, Any]]]  # each campaign with its `progress`
    older: int | None  # `before` for the next page of ended campaigns; None when none is left


async def overview(
    session: AsyncSession, before: int | None = None, per_page: int = ENDED_PER_PAGE
) -> Overview:
    """Without `before`: the campaigns that may still move and the latest ended ones. With it:
    the ended campaigns older than that id only. An ended campaign whose targets can no longer
    move keeps its tallies, so that the next view reads them instead of counting its targets."""
    now = utcnow()
    moving = [] if before is not None else await repo.list_moving(session)
    ended = await repo.list_final(session, before=before, limit=per_page + 1)
    older = ended[per_page - 1].id if len(ended) > per_page else None
    shown = [*moving, *ended[:per_page]]
    found = await progress_of(session, shown, now)
    settling = [c for c in shown if _settles(c, found[c.id], now)]
    for campaign in settling:
        tallies = {"counts": found[campaign.id]["counts"], "skipped": found[campaign.id]["skipped"]}
        await progress_repo.settle(session, campaign.id, tallies)
    if settling:
        await session.commit()
    return Overview([(c, found[c.id]) for c in shown], older)


def _settles(campaign: CampaignView, progress: dict[str, Any], now: datetime) -> bool:
    ended = campaign.finished_at is None or campaign.finished_at <= now - SETTLES_AFTER
    return (
        campaign.state in FINAL_STATES
        and campaign.settled_tallies is None
        and ended
        and not any(progress["counts"].get(status) for status in IN_FLIGHT)
    )
