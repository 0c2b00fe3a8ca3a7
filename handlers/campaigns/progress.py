"""What a supervisor watches while a campaign runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.definition import get
from storage.campaigns import conversions
from storage.campaigns import progress as repo
from storage.campaigns.views import OPEN_STATES
from storage.models.base import utcnow

FINAL_DELIVERED = ("sent", "answered")


async def progress(session: AsyncSession, campaign_id: int, now: datetime | None = None) -> dict[str, Any]:
    """What a supervisor watches: counts by outcome, the current rate, an estimated finish,
    and for a satisfaction campaign the response rate and scores."""
    now = now or utcnow()
    campaign = await get(session, campaign_id)
    counts = await repo.status_counts(session, campaign_id)
    total = sum(counts.values())
    remaining = sum(counts.get(s, 0) for s in OPEN_STATES)
    done = total - remaining
    window = timedelta(minutes=5)
    per_minute = 0.0
    if campaign.state == "running":
        # Only a running campaign sends; a finished one's sends are not read again on every view.
        recent = await repo.sent_since(session, campaign_id, now - window)
        per_minute = recent / (window.total_seconds() / 60)
    eta = None
    if campaign.state == "running" and remaining and per_minute > 0:
        eta = now + timedelta(minutes=remaining / per_minute)
    body: dict[str, Any] = {
        "total": total,
        "done": done,
        "remaining": remaining,
        "percent": round(100 * done / total, 1) if total else (100.0 if campaign.expanded else 0.0),
        "counts": counts,
        "skipped": await repo.skip_reasons(session, campaign_id),
        "rate_per_minute": round(per_minute, 1),
        "estimated_finish": eta,
        "expanding": campaign.state in ("running", "paused") and not campaign.expanded,
    }
    if campaign.kind == "satisfaction":
        sent, answered, average = await repo.survey_responses(session, campaign_id)
        body["responses"] = {
            "surveys": sent,
            "answered": answered,
            "response_rate": round(answered / sent, 3) if sent else None,
            "average_score": None if average is None else round(average, 2),
        }
    if campaign.kind == "cross_sell":
        converted = await conversions.conversions(session, campaign_id)
        delivered = sum(counts.get(s, 0) for s in FINAL_DELIVERED)
        body["conversions"] = {
            "accepted": converted,
            "conversion_rate": round(converted / delivered, 3) if delivered else None,
        }
    return body
