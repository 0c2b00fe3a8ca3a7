"""Campaign rows as a supervisor defines them: insert, list, and the audience they reach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_audience import Audience, count_query, customer_ids
from storage.campaigns.views import FINAL_STATES, CampaignView, campaign_view
from storage.models import Campaign, Customer


async def insert(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    channel: str,
    state: str,
    messages: dict[str, str],
    survey_kind: str | None,
    offer_code: str | None,
    audience: dict[str, Any],
    starts_at: datetime,
    ends_at: datetime | None,
    hour_from: int,
    hour_to: int,
    weekdays: list[int],
    rate_per_minute: int | None,
    recurrence_days: int | None,
    audience_count: int | None = None,
    parent_id: int | None = None,
    created_by_id: int | None = None,
    created_at: datetime | None = None,
    questionnaire_id: int | None = None,
) -> CampaignView:
    row = Campaign(
        name=name,
        kind=kind,
        channel=channel,
        state=state,
        messages=messages,
        survey_kind=survey_kind,
        questionnaire_id=questionnaire_id,
        offer_code=offer_code,
        audience=audience,
        starts_at=starts_at,
        ends_at=ends_at,
        hour_from=hour_from,
        hour_to=hour_to,
        weekdays=weekdays,
        rate_per_minute=rate_per_minute,
        recurrence_days=recurrence_days,
        audience_count=audience_count,
        parent_id=parent_id,
        created_by_id=created_by_id,
    )
    if created_at is not None:  # otherwise the column's default: the time of the insert
        row.created_at = created_at
    session.add(row)
    await session.flush()
    return campaign_view(row)


async def list_all(session: AsyncSession, limit: int = 100) -> list[CampaignView]:
    rows = await session.execute(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
    return [campaign_view(r) for r in rows.scalars()]


async def list_moving(session: AsyncSession) -> list[CampaignView]:
    """Every campaign not yet finished or cancelled, newest first."""
    rows = await session.execute(
        select(Campaign).where(Campaign.state.not_in(FINAL_STATES)).order_by(Campaign.id.desc())
    )
    return [campaign_view(r) for r in rows.scalars()]


async def list_final(session: AsyncSession, *, before: int | None, limit: int) -> list[CampaignView]:
    """Up to `limit` finished or cancelled campaigns, newest first, older than id `before`."""
    query = select(Campaign).where(Campaign.state.in_(FINAL_STATES))
    if before is not None:
        query = query.where(Campaign.id < before)
    rows = await session.execute(query.order_by(Campaign.id.desc()).limit(limit))
    return [campaign_view(r) for r in rows.scalars()]


async def count_audience(session: AsyncSession, audience: Audience, *, kind: str, now: datetime) -> int:
    return int((await session.execute(count_query(audience, kind=kind, now=now))).scalar_one())


async def sample_customers(
    session: AsyncSession, audience: Audience, *, kind: str, now: datetime, limit: int
) -> list[tuple[int, str, str | None, dict[str, Any]]]:
    """A few of the audience for a preview: (customer id, name, language, message context)."""
    ids = customer_ids(audience, kind=kind, now=now).order_by(Customer.id).limit(limit).subquery()
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.language, Customer.tier)
        .where(Customer.id.in_(select(ids.c.id)))
        .order_by(Customer.id)
    )
    return [
        (customer_id, name, language, {"name": name, "tier": tier})
        for customer_id, name, language, tier in rows.all()
    ]
