"""A supervisor's moves: schedule, pause, resume, cancel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.definition import get
from handlers.errors import Conflict, InvalidInput
from storage.campaigns import lifecycle as repo
from storage.campaigns.views import CampaignView
from storage.models.base import utcnow

# What a supervisor may do from each state.
MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "schedule": (("draft",), "scheduled"),
    "pause": (("running", "scheduled"), "paused"),
    "resume": (("paused",), "running"),
    "cancel": (("draft", "scheduled", "running", "paused"), "cancelled"),
}


async def act(
    session: AsyncSession, campaign_id: int, action: str, now: datetime | None = None
) -> CampaignView:
    """Schedule, pause, resume or cancel. Workers check the state before every send, so a
    pause or a cancel stops sending within one send per worker."""
    now = now or utcnow()
    if action not in MOVES:
        raise InvalidInput("unknown action", allowed=list(MOVES))
    campaign = await get(session, campaign_id)
    from_states, to_state = MOVES[action]
    if action == "resume" and campaign.started_at is None:
        to_state = "scheduled"  # paused before it ever started: it starts at its time
    finished_at = now if to_state == "cancelled" else None
    if not await repo.move(session, campaign_id, from_states, to_state=to_state, finished_at=finished_at):
        raise Conflict(
            f"a {campaign.state} campaign cannot {action}", error_id="campaign-state", state=campaign.state
        )
    if to_state == "cancelled":
        await repo.close_open_targets(session, campaign_id, "cancelled")
    await session.commit()
    return await get(session, campaign_id)
