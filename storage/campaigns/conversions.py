"""Cross-sell conversions: a customer said yes to an offer (a campaign button or an agent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import OfferConversion


async def record_conversion(
    session: AsyncSession,
    *,
    customer_id: int,
    offer_code: str,
    campaign_id: int | None,
    channel: str,
    agent_id: int | None,
    at: datetime,
) -> bool:
    """True when recorded; a campaign's offer counts once per customer (a second tap on the
    same button records nothing). An offer outside a campaign is recorded every time."""
    values = {
        "customer_id": customer_id,
        "offer_code": offer_code,
        "campaign_id": campaign_id,
        "channel": channel,
        "agent_id": agent_id,
        "at": at,
    }
    if campaign_id is not None:
        statement = (
            dialect_insert(session)(OfferConversion)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["customer_id", "offer_code", "campaign_id"])
        )
        return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
    session.add(OfferConversion(**values))
    await session.flush()
    return True
