"""Dispatch: workers claim due targets, check the rules at the moment of sending, send
through a `Channel` and record the outcome. Each step is its own transaction, committed
here: a claim (per batch), the mark that a message is on the wire (per message, before it
leaves), the outcomes (per batch). See docs/campaigns.md for the delivery guarantee this
gives."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import offers
from handlers.campaigns.channel import Channel, Delivery, Outbound
from handlers.campaigns.messages import render, render_off_loop
from handlers.campaigns.policy import Policy
from handlers.campaigns.schedule import open_zones
from handlers.defaults import SURVEY_LIFETIME
from handlers.delivery import known_blocked, settle
from storage import surveys as surveys_repo
from storage.campaigns import dispatch as repo
from storage.campaigns import lifecycle, views
from storage.campaigns.marks import BLOCKED_CHAT, DirectMarks, direct_marks
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
        frequency_cap=policy.caps,
        new_status=new_status,
    )
    if verdict == "stopped":
        await session.rollback()  # undoes the frequency-cap mark the rules put on the customer
        await repo.release(session, target)
    if verdict != "go":
        await session.commit()
    return verdict, customer


@dataclass(frozen=True)
class Sent:
    """A message the channel has answered for, its outcome still to be recorded."""

    target: ClaimedTarget
    delivery: Delivery
    at: datetime


# What one target came to before its outcome is recorded: a status already recorded (a
# refusal, a claim given back), an outcome to record with the batch, or the channel's answer.
Step = str | repo.Outcome | Sent


async def send_one(
    sessions: async_sessionmaker[AsyncSession],
    campaign: CampaignView,
    target: ClaimedTarget,
    channel: Channel,
    policy: Policy,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """One target on its own: rules, then the mark that the message is on the wire
    (committed), then the send, then the outcome (committed). Returns its new status."""
    async with sessions() as session:
        offer = await offers.customer_name(session, campaign.offer_code)
        known = await repo.customer_facts(session, [target.customer_id])
        await session.commit()
    drafts = await asyncio.to_thread(draft_all, [(campaign, target)], {campaign.id: offer}, known)
    async with sessions() as session, direct_marks(session) as marks:
        step = await deliver(
            sessions, marks, campaign, target, channel, policy, offer, drafts.get(target.id), clock
        )
    async with sessions() as session:
        (status,) = await record(session, [step])
        await session.commit()
    return status


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    marks: DirectMarks | None,
    campaign: CampaignView,
    target: ClaimedTarget,
    channel: Channel,
    policy: Policy,
    offer: str,
    draft: Draft | None,
    clock: Callable[[], datetime] = utcnow,
) -> Step:
    """The text, the durable `sending` mark, then the send; the outcome is the caller's to
    record. With `marks` (PostgreSQL) the rules and the mark are one autocommitted statement;
    otherwise, and for a satisfaction campaign (its survey row is written with the mark),
    they are the ORM's transaction. `draft` is the text rendered ahead (`draft_all`)."""
    if marks is None or campaign.kind == "satisfaction":
        prepared = await _prepare_in_session(sessions, campaign, target, policy, offer, clock)
    else:
        prepared = await _prepare_direct(marks, campaign, target, policy, offer, draft, clock)
    if not isinstance(prepared, Outbound):
        return prepared
    delivery = await channel.send(prepared)
    return Sent(target, delivery, clock())


def _outbound(campaign: CampaignView, target: ClaimedTarget, text: str) -> Outbound:
    payload = {"campaign_id": campaign.id, "target_id": target.id}
    return Outbound(target.address or "", text, target.language, campaign.kind, payload)


async def _prepare_direct(
    marks: DirectMarks,
    campaign: CampaignView,
    target: ClaimedTarget,
    policy: Policy,
    offer: str,
    draft: Draft | None,
    clock: Callable[[], datetime],
) -> Outbound | Step:
    """The text was rendered ahead (a text that cannot be written fails its target before
    the customer's stamp moves); then the one-statement mark; the text is rendered again
    only if the customer's name or tier changed in between."""
    if draft is not None and draft.error is not None:
        return repo.Outcome(target, "failed", clock(), error=draft.error)
    verdict, customer = await marks.begin_send(
        target, kind=campaign.kind, now=clock(), frequency_cap=policy.caps
    )
    if verdict == "stopped":
        return "pending"
    if verdict == BLOCKED_CHAT:
        return Sent(target, Delivery("blocked", "the chat has blocked the bot"), clock())
    if verdict != "go":
        return "skipped"
    if draft is not None and draft.text is not None and customer == draft.facts:
        return _outbound(campaign, target, draft.text)
    try:
        text = await render_off_loop(campaign, target.language, {**customer, "offer": offer}, target.occasion)
    except TemplateError as error:
        return repo.Outcome(target, "failed", clock(), error=f"render: {error}")
    return _outbound(campaign, target, text)


@dataclass(frozen=True)
class Draft:
    """A target's text rendered ahead for the customer as claimed (`facts`: name and tier),
    or the reason it cannot be rendered."""

    facts: dict[str, Any]
    text: str | None = None
    error: str | None = None


def draft_all(
    work: Sequence[tuple[CampaignView, ClaimedTarget]],
    offer_names: dict[int, str],
    known: dict[int, dict[str, Any]],
) -> dict[int, Draft]:
    """Every text of a batch rendered at once, in one trip to a worker thread rather than
    one per message (CPU-bound within the template budget; see docs/campaigns.md). A
    satisfaction campaign's text names its survey, written with the mark: not drafted."""
    drafts: dict[int, Draft] = {}
    for campaign, target in work:
        facts = known.get(target.customer_id)
        if facts is None or campaign.kind == "satisfaction":
            continue
        try:
            text = render(
                campaign, target.language, {**facts, "offer": offer_names[campaign.id]}, target.occasion
            )
        except TemplateError as error:
            drafts[target.id] = Draft(facts, error=f"render: {error}")
        else:
            drafts[target.id] = Draft(facts, text)
    return drafts


async def _prepare_in_session(
    sessions: async_sessionmaker[AsyncSession],
    campaign: CampaignView,
    target: ClaimedTarget,
    policy: Policy,
    offer: str,
    clock: Callable[[], datetime],
) -> Outbound | Step:
    """Rules, mark, survey and text in one transaction, committed before the send; a text
    that cannot be rendered rolls the mark back and fails the target."""
    async with sessions() as session:
        now = clock()
        verdict, customer = await begin_send(session, campaign, target, policy, now)
        if verdict == "stopped":
            return "pending"
        if verdict != "go":
            return "skipped"
        context = {**customer, "offer": offer}
        kind, payload = campaign.kind, {"campaign_id": campaign.id, "target_id": target.id}
        if campaign.kind == "satisfaction":
            survey_id = await survey_for(session, campaign, target, now)
            kind, payload = f"{campaign.survey_kind}_survey", {"survey_id": survey_id}
            context["survey_id"] = survey_id
        try:
            text = await render_off_loop(campaign, target.language, context, target.occasion)
        except TemplateError as error:
            await session.rollback()
            await repo.finish(session, target, "failed", now=clock(), error=f"render: {error}")
            await session.commit()
            return "failed"
        await session.commit()
        # A chat known to block the bot (a 403 before, or Telegram's my_chat_member) is not
        # asked again: the mark stays, the outcome is `blocked`.
        blocked = await known_blocked(session, target.channel, target.address)
        if blocked is not None:
            return Sent(target, blocked, clock())
    return Outbound(target.address or "", text, target.language, kind, payload)


async def record(session: AsyncSession, steps: Sequence[Step]) -> list[str]:
    """The outcomes of a batch in one statement, by the outbox's one retry policy (a chat
    that blocked us is remembered in the same transaction); the caller commits. Returns
    each target's new status."""
    outcomes: list[repo.Outcome] = []
    statuses: list[str] = []
    for step in steps:
        if isinstance(step, Sent):
            target = step.target
            settled = await settle(
                session, step.delivery, address=target.address, attempts=target.attempts + 1, now=step.at
            )
            step = repo.Outcome(target, settled.status, step.at, settled.error, settled.retry_at)
        if isinstance(step, repo.Outcome):
            outcomes.append(step)
            statuses.append(step.status)
        else:
            statuses.append(step)
    await repo.finish_many(session, outcomes)
    return statuses


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
            questionnaire_id=campaign.questionnaire_id,
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
    zones that are open now, send them with bounded concurrency, record the batch's
    outcomes in one transaction.

    Each message's `sending` mark is committed before it leaves; the outcomes wait for the
    end of the pass. A worker that dies mid-pass therefore leaves at most the pass's sent
    but unrecorded targets (at most one batch per campaign) to become `uncertain`."""
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
        offer_names = {c.id: await offers.customer_name(session, c.offer_code) for c, _ in work}
        known = await repo.customer_facts(session, [target.customer_id for _, target in work])
        await session.commit()
    drafts = await asyncio.to_thread(draft_all, work, offer_names, known)
    steps, failures = await _send_all(sessions, channel, policy, work, offer_names, drafts, clock)
    outcomes: dict[str, int] = {}
    async with sessions() as session:
        # What did go out is recorded even when a lane failed (the database went away for
        # a moment): a lane's own target stays `sending`, and the sweep makes it `uncertain`.
        done = [step for step in steps if step is not None]
        for status in await record(session, done):
            outcomes[status] = outcomes.get(status, 0) + 1
        await session.commit()
        if failures:
            raise failures[0]
        await finish_campaigns(session, clock())
    return outcomes


async def _send_all(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    policy: Policy,
    work: Sequence[tuple[CampaignView, ClaimedTarget]],
    offer_names: dict[int, str],
    drafts: dict[int, Draft],
    clock: Callable[[], datetime],
) -> tuple[list[Step | None], list[BaseException]]:
    """`policy.concurrency` lanes take the claimed targets in turn; each lane holds one
    connection for the pass, on which PostgreSQL's marks go as one prepared statement.
    Returns each target's step (None if its lane failed first) and the lanes' failures."""
    pending = iter(enumerate(work))
    steps: list[Step | None] = [None] * len(work)

    async def lane() -> None:
        async with sessions() as session, direct_marks(session) as marks:
            for n, (campaign, target) in pending:
                steps[n] = await deliver(
                    sessions,
                    marks,
                    campaign,
                    target,
                    channel,
                    policy,
                    offer_names[campaign.id],
                    drafts.get(target.id),
                    clock,
                )

    lanes = await asyncio.gather(
        *(lane() for _ in range(min(policy.concurrency, len(work)))), return_exceptions=True
    )
    return steps, [failure for failure in lanes if isinstance(failure, BaseException)]


async def finish_campaigns(session: AsyncSession, now: datetime) -> None:
    """Campaigns with nothing left to send, or past their end, are finished."""
    for finished in await lifecycle.finish_campaigns(session, now):
        log.info("campaign %s finished", finished)
    await session.commit()
