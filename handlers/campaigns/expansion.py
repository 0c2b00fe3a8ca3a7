"""Expansion: a campaign that starts is written into targets (its own outbox), batch by
batch under a lease, so a worker that dies mid-way is taken over and nothing is written twice."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns import care as care_calendar
from handlers.campaigns.audience import parse_audience
from handlers.campaigns.policy import Policy
from storage.campaigns import definitions, views
from storage.campaigns import expansion as repo
from storage.campaigns.views import CampaignView
from storage.models.base import utcnow

log = logging.getLogger(__name__)


async def expand_due(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, now: datetime | None = None
) -> int:
    """Expand one due campaign (or resume a dead worker's expansion); returns rows written."""
    owner = secrets.token_hex(8)
    async with sessions() as session:
        campaign = await repo.take_expansion(session, owner, now or utcnow(), policy.lease)
        await session.commit()  # the campaign is ours (or nobody's): end the row lock now
        if campaign is None:
            return 0
        audience = parse_audience(campaign.audience)
        started = now or utcnow()
        care = None
        if campaign.kind == "care":
            # A run started late (a draft scheduled days after it was written, workers down
            # for a while) greets today: a greeting is never sent after its day.
            day = max(
                care_calendar.run_day(campaign.starts_at, policy.default_timezone),
                care_calendar.run_day(started, policy.default_timezone),
            )
            care = policy.care.day(day, audience.occasions, policy.default_timezone)
            await repo.begin_care_run(
                session, campaign.id, policy.care.texts(care), care_calendar.run_end(day)
            )
            await session.commit()
            campaign = await views.get(session, campaign.id) or campaign
        upto_cap = await repo.cap_boundary(session, audience, kind=campaign.kind, now=started)
        last = await repo.max_customer_id(session)
        end = last if upto_cap is None else min(last, upto_cap)
        after = await repo.expansion_resume_point(session, campaign.id)
        written = 0
        while after < end:
            current = await views.get(session, campaign.id)
            if current is None or current.state == "cancelled":
                return written
            upto = min(after + policy.expansion_batch, end)
            batch = await repo.expand_batch(
                session,
                campaign,
                audience,
                after=after,
                upto=upto,
                now=now or utcnow(),
                default_timezone=policy.default_timezone,
                owner=owner,
                lease=policy.lease,
                care=care,
            )
            if batch < 0:  # another worker took the expansion over: it writes these rows
                await session.rollback()
                return written
            await session.commit()  # this batch is sendable from now on
            await repo.add_timezones(session, campaign.id, after, upto)
            await session.commit()
            written += batch
            after = upto
        await repo.finish_expansion(session, campaign.id, owner)
        await session.commit()
        if campaign.recurrence_days:
            await _schedule_next(session, campaign, policy, None if care is None else care.day)
        log.info("campaign %s expanded: %s targets written", campaign.id, written)
        return written


async def _schedule_next(
    session: AsyncSession, campaign: CampaignView, policy: Policy, care_day: date | None
) -> None:
    """Recurring campaigns (key accounts every three months) schedule their next run; a care
    campaign's next run starts at the next midnight on the operator's clock."""
    step = timedelta(days=campaign.recurrence_days or 0)
    starts_at = campaign.starts_at + step
    ends_at = None if campaign.ends_at is None else campaign.ends_at + step
    if care_day is not None:
        day = care_day + step
        starts_at = care_calendar.midnight(day, policy.default_timezone)
        ends_at = care_calendar.run_end(day)
    await definitions.insert(
        session,
        name=campaign.name,
        kind=campaign.kind,
        channel=campaign.channel,
        state="scheduled",
        messages=campaign.messages,
        survey_kind=campaign.survey_kind,
        questionnaire_id=campaign.questionnaire_id,
        offer_code=campaign.offer_code,
        audience=campaign.audience,
        starts_at=starts_at,
        ends_at=ends_at,
        hour_from=campaign.hour_from,
        hour_to=campaign.hour_to,
        weekdays=campaign.weekdays,
        rate_per_minute=campaign.rate_per_minute,
        recurrence_days=campaign.recurrence_days,
        parent_id=campaign.id,
    )
    await session.commit()
