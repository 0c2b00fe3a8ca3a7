"""A customer's side of the campaigns, for their profile: the messages sent (or held back)
to them and the offers they accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, CampaignTarget, OfferConversion, Product


@dataclass(frozen=True)
class CampaignMessage:
    campaign_id: int
    campaign: str
    kind: str
    channel: str
    status: str
    reason: str | None  # why a message was skipped or failed
    sent_at: datetime | None


@dataclass(frozen=True)
class AcceptedOffer:
    code: str
    name: str  # the product's name; the code when the catalogue no longer has it
    channel: str
    campaign: str | None
    at: datetime


async def messages(session: AsyncSession, customer_id: int, limit: int) -> list[CampaignMessage]:
    rows = await session.execute(
        select(CampaignTarget, Campaign.name, Campaign.kind)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(CampaignTarget.customer_id == customer_id)
        .order_by(CampaignTarget.id.desc())
        .limit(limit)
    )
    return [
        CampaignMessage(t.campaign_id, name, kind, t.channel, t.status, t.reason, t.sent_at)
        for t, name, kind in rows
    ]


async def accepted_offers(session: AsyncSession, customer_id: int, limit: int) -> list[AcceptedOffer]:
    rows = await session.execute(
        select(OfferConversion, Product.name, Campaign.name)
        .outerjoin(Product, Product.code == OfferConversion.offer_code)
        .outerjoin(Campaign, Campaign.id == OfferConversion.campaign_id)
        .where(OfferConversion.customer_id == customer_id)
        .order_by(OfferConversion.at.desc(), OfferConversion.id.desc())
        .limit(limit)
    )
    return [
        AcceptedOffer(c.offer_code, product or c.offer_code, c.channel, campaign, c.at)
        for c, product, campaign in rows
    ]
