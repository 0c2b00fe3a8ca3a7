"""Cross-sell conversions: a customer said yes to an offer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.definition import get
from handlers.errors import InvalidInput, NotFound
from storage.campaigns import conversions as repo
from storage.campaigns import views
from storage.models.base import utcnow


async def offer_accepted(
    session: AsyncSession,
    *,
    customer_id: int,
    offer_code: str | None = None,
    target_id: int | None = None,
    channel: str,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Record that a customer said yes to an offer (a campaign button or an agent's
    disposition). True the first time; a second tap on the same button records nothing."""
    campaign_id = None
    if target_id is not None:
        target = await views.target_by_id(session, target_id)
        if target is None or target.customer_id != customer_id:
            raise NotFound("no such offer for you", target_id=target_id)
        campaign = await get(session, target.campaign_id)
        campaign_id, offer_code = campaign.id, campaign.offer_code
    if not offer_code:
        raise InvalidInput("which offer was accepted?", field="offer_code")
    recorded = await repo.record_conversion(
        session,
        customer_id=customer_id,
        offer_code=offer_code,
        campaign_id=campaign_id,
        channel=channel,
        agent_id=agent_id,
        at=now or utcnow(),
    )
    await session.commit()
    return recorded
