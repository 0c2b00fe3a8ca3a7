"""What a customer's profile shows of the campaigns: the latest messages and accepted offers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaigns import customer_history as repo
from storage.campaigns.customer_history import AcceptedOffer, CampaignMessage

SHOWN = 20


async def messages_to(session: AsyncSession, customer_id: int) -> list[CampaignMessage]:
    return await repo.messages(session, customer_id, SHOWN)


async def offers_accepted_by(session: AsyncSession, customer_id: int) -> list[AcceptedOffer]:
    return await repo.accepted_offers(session, customer_id, SHOWN)
