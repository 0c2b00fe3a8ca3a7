"""Dispatch: workers claim due targets, check the rules at the moment of sending, send
through a `Channel` and record the outcome. Each step is its own transaction, committed
here: a claim, the mark that a message is on the wire, the outcome. See docs/campaigns.md
for the delivery guarantee this gives."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.channel import Channel, Delivery, Outbound
from handlers.campaigns.messages import customer_context, render_off_loop
from handlers.campaigns.policy import Policy
from handlers.campaigns.schedule import open_zones
from handlers.defaults import SURVEY_LIFETIME
from handlers.delivery import known_blocked, settle
from storage import surveys as surveys_repo
from storage.campaigns import dispatch as repo
from storage.campaigns import lifecycle, views
from storage.campaigns.views import CampaignView, ClaimedTarget
from storage.models.base import utcnow

log = logging.getLogger(__name__)


async def begin_send(
    session: AsyncSession,
    campaign: CampaignView,
    target: ClaimedTarget,
    policy: Policy,
    now: datetime,
    *,
    new_status: str = "sending",
) -> tuple[str, dict[str, Any]]:
    """The rules at the moment of sending, and the mark that the target is on its way.

    A refusal (the target is final as `skipped`) and a stop (the campaign no longer runs:
    the claim goes back) are committed here. On `go` nothing is committed yet: the caller
    commits once the text is rendered, or rolls back if it cannot be."""
    verdict, customer = await repo.begin_send(
        session,
        target,
        kind=campaign.kind,
        now=now,
        frequency_cap=policy.frequency_cap,
        new_status=new_status,
    )
    if verdict == "stopped":
        await session.rollback()  # undoes the frequency-cap mark the rules put on the customer
        await repo.release(session, target)
    if verdict != "go":
        await session.commit()
    return verdict, customer


async def send_one(
    sessions: async_sessionmaker[AsyncSession],
    campaign: CampaignView,
    target: ClaimedTarget,
    channel: Channel,
    policy: Policy,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Rules, then the mark that the message is on the wire (committed), then the send, then
    the outcome (committed). Returns the target's new status."""
    async with sessions() as session:
        now = clock()
        verdict, customer = await begin_send(session, campaign, target, policy, now)
        if verdict == "stopped":
            return "pending"
        if verdict != "go":
            return "skipped"
        context = await customer_context(session, campaign, customer)
        kind, payload = campaign.kind, {"campaign_id": campaign.id, "target_id": target.id}
        if campaign.kind == "satisfaction":
            survey_id = await survey_for(session, campaign, target, now)
            kind, payload = f"{campaign.survey_kind}_survey", {"survey_id": survey_id}
            context["survey_id"] = survey_id
        try:
            text = await render_off_loop(campaign, target.language, context)
        except TemplateError as error:
            await session.rollback()
            await repo.finish(session, target, "failed", now=clock(), error=f"render: {error}")
            await session.commit()
            return "failed"
        await session.commit()
        delivery = await known_blocked(session, target.channel, target.address) or await channel.send(
            Outbound(target.address or "", text, target.language, kind, payload)
        )
        status = await _record(session, target, delivery, clock())
        await session.commit()
        return status


async def _record(session: AsyncSession, target: ClaimedTarget, delivery: Delivery, now: datetime) -> str:
    """What the channel said, as the target's new status, by the outbox's one retry policy."""
    settled = await settle(session, delivery, address=target.address, attempts=target.attempts + 1, now=now)
    await repo.finish(
        session, target, settled.status, now=now, error=settled.error, retry_at=settled.retry_at
    )
    return settled.status


async def survey_for(
    session: AsyncSession, campaign: CampaignView, target: ClaimedTarget, now: datetime
) -> int:
    """A satisfaction campaign's survey row: its answers feed the satisfaction reports.
    A retry keeps the survey of the first attempt."""
    if target.attempts > 0:
        existing = await views.target_by_id(session, target.id)
        if existing is not None and existing.survey_id is not None:
            return existing.survey_id
    survey = await surveys_repo.insert(
        session,
        surveys_repo.NewSurvey(
            customer_id=target.customer_id,
            kind=campaign.survey_kind or "csat",
            trigger="campaign",
            channel="phone" if target.channel == "dialer" else "telegram",
            campaign_id=campaign.id,
            created_at=now,
            expires_at=now + SURVEY_LIFETIME,
        ),
    )
    await repo.attach_survey(session, target.id, survey.id)
    return survey.id


async def dispatch_once(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    policy: Policy,
    clock: Callable[[], datetime] = utcnow,
) -> dict[str, int]:
    """One pass: release dead workers' claims, claim a batch per running campaign in the
    zones that are open now, send them with bounded concurrency, finish what is done."""
    outcomes: dict[str, int] = {}
    token = secrets.token_hex(8)
    async with sessions() as session:
        await lifecycle.sweep(session, clock(), policy.lease)
        await session.commit()
        campaigns = await repo.sendable_campaigns(session, clock())
        work: list[tuple[CampaignView, ClaimedTarget]] = []
        for campaign in campaigns:
            zones = open_zones(campaign, clock())
            if not zones or campaign.channel == "dialer":
                continue
            allowed = await repo.take_tokens(session, campaign.id, policy.dispatch_batch, clock())
            await session.commit()  # the bucket's row lock holds up every other worker: end it now
            claimed = await repo.claim(
                session, campaign.id, zones, channel="telegram", limit=allowed, token=token, now=clock()
            )
            await session.commit()  # the claim is ours from here; SKIP LOCKED let others pass
            work.extend((campaign, target) for target in claimed)
    limit = asyncio.Semaphore(policy.concurrency)

    async def one(campaign: CampaignView, target: ClaimedTarget) -> None:
        async with limit:
            status = await send_one(sessions, campaign, target, channel, policy, clock)
        outcomes[status] = outcomes.get(status, 0) + 1

    await asyncio.gather(*(one(c, t) for c, t in work))
    async with sessions() as session:
        await finish_campaigns(session, clock())
    return outcomes


async def finish_campaigns(session: AsyncSession, now: datetime) -> None:
    """Campaigns with nothing left to send, or past their end, are finished."""
    for finished in await lifecycle.finish_campaigns(session, now):
        log.info("campaign %s finished", finished)
    await session.commit()
