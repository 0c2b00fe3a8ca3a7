"""What a supervisor watches while a campaign runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.definition import get
from storage.campaigns import progress as repo
from storage.campaigns.views import OPEN_STATES, CampaignView
from storage.models.base import utcnow

FINAL_DELIVERED = ("sent", "answered")
RATE_WINDOW = timedelta(minutes=5)


async def progress(session: AsyncSession, campaign_id: int, now: datetime | None = None) -> dict[str, Any]:
    """What a supervisor watches: counts by outcome, the current rate, an estimated finish,
    and for a satisfaction campaign the response rate and scores."""
    campaign = await get(session, campaign_id)
    return (await progress_of(session, [campaign], now))[campaign.id]


async def progress_of(
    session: AsyncSession, campaigns: Sequence[CampaignView], now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """`progress` of each campaign, by id, in one query per figure for all of them."""
    now = now or utcnow()
    # A settled campaign's tallies were kept when it ended; the others' targets are counted.
    live = [c.id for c in campaigns if c.settled_tallies is None]
    counts = await repo.status_counts(session, live)
    skipped = await repo.skip_reasons(session, live)
    for campaign in campaigns:
        if campaign.settled_tallies is not None:
            counts[campaign.id] = campaign.settled_tallies["counts"]
            skipped[campaign.id] = campaign.settled_tallies["skipped"]
    # Only a running campaign sends; a finished one's sends are not read again on every view.
    running = [c.id for c in campaigns if c.state == "running"]
    recent = await repo.sent_since(session, running, now - RATE_WINDOW)
    responses = await repo.survey_responses(session, [c.id for c in campaigns if c.kind == "satisfaction"])
    converted = await repo.conversions(session, [c.id for c in campaigns if c.kind == "cross_sell"])
    found: dict[int, dict[str, Any]] = {}
    for campaign in campaigns:
        these = counts.get(campaign.id, {})
        total = sum(these.values())
        remaining = sum(these.get(s, 0) for s in OPEN_STATES)
        done = total - remaining
        per_minute = recent.get(campaign.id, 0) / (RATE_WINDOW.total_seconds() / 60)
        eta = None
        if campaign.state == "running" and remaining and per_minute > 0:
            eta = now + timedelta(minutes=remaining / per_minute)
        body: dict[str, Any] = {
            "total": total,
            "done": done,
            "remaining": remaining,
            "percent": round(100 * done / total, 1) if total else (100.0 if campaign.expanded else 0.0),
            "counts": these,
            "skipped": skipped.get(campaign.id, {}),
            "rate_per_minute": round(per_minute, 1),
            "estimated_finish": eta,
            "expanding": campaign.state in ("running", "paused") and not campaign.expanded,
        }
        if campaign.kind == "satisfaction":
            sent, answered, average = responses.get(campaign.id, (0, 0, None))
            body["responses"] = {
                "surveys": sent,
                "answered": answered,
                "response_rate": round(answered / sent, 3) if sent else None,
                "average_score": None if average is None else round(average, 2),
            }
        if campaign.kind == "cross_sell":
            delivered = sum(these.get(s, 0) for s in FINAL_DELIVERED)
            accepted = converted.get(campaign.id, 0)
            body["conversions"] = {
                "accepted": accepted,
                "conversion_rate": round(accepted / delivered, 3) if delivered else None,
            }
        found[campaign.id] = body
    return found
