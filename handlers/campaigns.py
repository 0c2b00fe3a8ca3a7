"""Outbound campaigns: satisfaction surveys, follow-ups and cross-sell offers.

A campaign is expanded into targets (its own outbox) when it starts; workers claim targets,
check the rules at the moment of sending, send through a channel and record the outcome.
See docs/campaigns.md for the delivery guarantee and why it is what it is."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import campaign_templates
from handlers.campaign_templates import OverBudget
from handlers.customers import TIERS

# The channel contract and the retry policy are the outbox's too; the contract is re-exported
# for the callers that know it from here (callcenter.keys, bench/campaign.py).
from handlers.delivery import Channel as Channel
from handlers.delivery import Delivery as Delivery
from handlers.delivery import Outbound as Outbound
from handlers.delivery import backoff, settle
from handlers.errors import Conflict, InvalidInput, NotFound
from handlers.identities import mask
from storage import campaigns as repo
from storage import surveys as surveys_repo
from storage.audit import Actor, audit_each_customer
from storage.campaign_audience import Audience
from storage.campaigns import CampaignView, ClaimedTarget
from storage.models.base import utcnow
from templates import LANGUAGES, message

log = logging.getLogger(__name__)

KINDS = ("satisfaction", "follow_up", "cross_sell")
CHANNELS = ("telegram", "dialer", "best")
SURVEY_TTL = timedelta(days=7)
DIALER_ATTEMPTS = 3
# Final outcomes a dialer may post back; no_answer and busy are tried again later.
DIAL_OUTCOMES = ("answered", "no_answer", "busy", "refused", "failed", "wrong_number")


@dataclass(frozen=True)
class Policy:
    """The operator's settings every campaign obeys."""

    frequency_cap: timedelta = timedelta(days=7)
    default_timezone: str = "Asia/Shanghai"
    expansion_batch: int = 10_000
    dispatch_batch: int = 100
    concurrency: int = 8
    lease: timedelta = timedelta(seconds=60)


# --- definitions ---------------------------------------------------------------------------


def _strings(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise InvalidInput(f"{name} is a list of names", field=f"audience.{name}")
    return tuple(raw)


def _date(raw: Any, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError as error:
        raise InvalidInput(f"{name} is a date like 2026-01-31", field=f"audience.{name}") from error


def _int(raw: Any, name: str, low: int, high: int) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise InvalidInput(f"{name} is a whole number from {low} to {high}", field=f"audience.{name}")
    return raw


AUDIENCE_KEYS = (
    "tiers",
    "regions",
    "holds",
    "lacks",
    "last_contact_before",
    "last_contact_after",
    "complaint_resolved_within_days",
    "csat_at_most",
    "sample_share",
    "sample_seed",
    "cap",
)


def parse_audience(raw: dict[str, Any] | None) -> Audience:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(AUDIENCE_KEYS))
    if unknown:
        raise InvalidInput(f"unknown audience filter: {', '.join(unknown)}", allowed=list(AUDIENCE_KEYS))
    share = raw.get("sample_share")
    if share is not None and (
        not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1
    ):
        raise InvalidInput("sample_share is a fraction above 0, at most 1", field="audience.sample_share")
    return Audience(
        tiers=_strings(raw.get("tiers"), "tiers"),
        regions=_strings(raw.get("regions"), "regions"),
        holds=_strings(raw.get("holds"), "holds"),
        lacks=_strings(raw.get("lacks"), "lacks"),
        last_contact_before=_date(raw.get("last_contact_before"), "last_contact_before"),
        last_contact_after=_date(raw.get("last_contact_after"), "last_contact_after"),
        complaint_resolved_within_days=_int(
            raw.get("complaint_resolved_within_days"), "complaint_resolved_within_days", 1, 3650
        ),
        csat_at_most=_int(raw.get("csat_at_most"), "csat_at_most", 1, 5),
        sample_share=None if share is None else float(share),
        sample_seed=_int(raw.get("sample_seed"), "sample_seed", 0, 2**31) or 0,
        cap=_int(raw.get("cap"), "cap", 1, 100_000_000),
    )


def audience_json(audience: Audience) -> dict[str, Any]:
    """The stored form: only the filters that are set, dates as ISO strings."""
    stored: dict[str, Any] = {}
    for key, value in asdict(audience).items():
        if value in (None, (), []) or (key == "sample_seed" and audience.sample_share is None):
            continue
        stored[key] = (
            value.isoformat()
            if isinstance(value, date)
            else list(value)
            if isinstance(value, tuple)
            else value
        )
    return stored


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    kind: str
    channel: str = "telegram"
    messages: dict[str, str] = field(default_factory=dict)
    survey_kind: str | None = None
    offer_code: str | None = None
    audience: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    hour_from: int = 9
    hour_to: int = 20
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    rate_per_minute: int | None = None
    recurrence_days: int | None = None


def _template_error(language: str, error: TemplateError) -> InvalidInput:
    if isinstance(error, OverBudget):
        return InvalidInput(
            f"the {language} message is over its budget: {error.reason}",
            error_id="template-over-budget",
            field="messages",
            language=language,
        )
    return InvalidInput(
        f"the {language} message is not a valid template: {error}", field="messages", language=language
    )


def _check_template(text: str, language: str) -> None:
    try:
        campaign_templates.compile_text(text)
    except TemplateError as error:
        raise _template_error(language, error) from error


# What a sample render at creation calls the customer; the real name comes at send time.
SAMPLE_NAME = "Sample Customer"


def _check_renders(spec: CampaignSpec) -> None:
    """Render each text as a customer of each tier would get it, so that a text over its
    budget (or naming a variable that does not exist) is refused now, not at send time.
    CPU-bound: runs in a thread."""
    for language, text in spec.messages.items():
        for tier in TIERS:
            context: dict[str, Any] = {"name": SAMPLE_NAME, "tier": tier, "offer": spec.offer_code or ""}
            if spec.kind == "satisfaction":
                context["survey_id"] = 1
            try:
                campaign_templates.render(text, context)
            except TemplateError as error:
                raise _template_error(language, error) from error


def validate(spec: CampaignSpec) -> Audience:
    if not spec.name.strip():
        raise InvalidInput("a campaign needs a name", field="name")
    if spec.kind not in KINDS:
        raise InvalidInput("unknown campaign kind", field="kind", allowed=list(KINDS))
    if spec.channel not in CHANNELS:
        raise InvalidInput("unknown channel", field="channel", allowed=list(CHANNELS))
    if spec.kind == "satisfaction" and spec.survey_kind not in ("csat", "nps"):
        raise InvalidInput("a satisfaction campaign asks csat or nps", field="survey_kind")
    if spec.kind == "cross_sell" and not spec.offer_code:
        raise InvalidInput("a cross-sell campaign names its offer", field="offer_code")
    if spec.kind != "satisfaction" and not spec.messages:
        raise InvalidInput("write the message in at least one language", field="messages")
    for language, text in spec.messages.items():
        if language not in LANGUAGES:
            raise InvalidInput("unknown language", field="messages", allowed=list(LANGUAGES))
        if not text.strip() or len(text) > 4000:
            raise InvalidInput("a message is 1 to 4000 characters", field="messages")
        _check_template(text, language)
    if not (0 <= spec.hour_from < spec.hour_to <= 24):
        raise InvalidInput("allowed hours run from hour_from to hour_to, 0–24", field="hour_from")
    if not spec.weekdays or any(d not in range(7) for d in spec.weekdays):
        raise InvalidInput("weekdays are 0 (Monday) to 6 (Sunday)", field="weekdays")
    if spec.rate_per_minute is not None and spec.rate_per_minute < 1:
        raise InvalidInput("the send rate is at least 1 a minute", field="rate_per_minute")
    if spec.recurrence_days is not None and spec.recurrence_days < 1:
        raise InvalidInput("recurrence is a number of days", field="recurrence_days")
    if spec.starts_at and spec.ends_at and spec.ends_at <= spec.starts_at:
        raise InvalidInput("the campaign ends after it starts", field="ends_at")
    return parse_audience(spec.audience)


async def count_audience(
    session: AsyncSession, kind: str, raw: dict[str, Any] | None, now: datetime | None = None
) -> int:
    if kind not in KINDS:
        raise InvalidInput("unknown campaign kind", field="kind", allowed=list(KINDS))
    return await repo.count_audience(session, parse_audience(raw), kind=kind, now=now or utcnow())


async def create(
    session: AsyncSession,
    spec: CampaignSpec,
    *,
    created_by: int | None,
    schedule: bool,
    now: datetime | None = None,
) -> CampaignView:
    """Save a campaign as a draft, or scheduled to start at its start time (now by default)."""
    now = now or utcnow()
    audience = validate(spec)
    await asyncio.to_thread(_check_renders, spec)
    if audience.sample_share is not None and "sample_seed" not in spec.audience:
        audience = Audience(**{**asdict(audience), "sample_seed": secrets.randbelow(2**31)})
    campaign = await repo.insert(
        session,
        name=spec.name.strip()[:200],
        kind=spec.kind,
        channel=spec.channel,
        state="scheduled" if schedule else "draft",
        messages=dict(spec.messages),
        survey_kind=spec.survey_kind if spec.kind == "satisfaction" else None,
        offer_code=spec.offer_code if spec.kind == "cross_sell" else None,
        audience=audience_json(audience),
        starts_at=spec.starts_at or now,
        ends_at=spec.ends_at,
        hour_from=spec.hour_from,
        hour_to=spec.hour_to,
        weekdays=sorted(set(spec.weekdays)),
        rate_per_minute=spec.rate_per_minute,
        recurrence_days=spec.recurrence_days,
        audience_count=await repo.count_audience(session, audience, kind=spec.kind, now=now),
        created_by_id=created_by,
        created_at=now,
    )
    await session.commit()
    return campaign


async def list_all(session: AsyncSession) -> list[CampaignView]:
    return await repo.list_all(session)


async def get(session: AsyncSession, campaign_id: int) -> CampaignView:
    campaign = await repo.get(session, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign", campaign_id=campaign_id)
    return campaign


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
    values: dict[str, Any] = {"state": to_state}
    if to_state == "cancelled":
        values["finished_at"] = now
    if not await repo.move(session, campaign_id, from_states, values):
        raise Conflict(
            f"a {campaign.state} campaign cannot {action}", error_id="campaign-state", state=campaign.state
        )
    if to_state == "cancelled":
        await repo.close_open_targets(session, campaign_id, "cancelled")
    await session.commit()
    return await get(session, campaign_id)


# --- messages ------------------------------------------------------------------------------


def render(campaign: CampaignView, language: str, context: dict[str, Any]) -> str:
    """The campaign's text for one customer, in their language when the campaign has it.
    CPU-bound within the template budget: async callers use `render_off_loop`."""
    for candidate in (language, "zh", "en", *campaign.messages):
        text = campaign.messages.get(candidate)
        if text:
            return campaign_templates.render(text, context)
    # A satisfaction campaign without its own wording asks the standard question.
    return message(f"{campaign.survey_kind or 'csat'}_survey", language, **context)


async def render_off_loop(campaign: CampaignView, language: str, context: dict[str, Any]) -> str:
    return await asyncio.to_thread(render, campaign, language, context)


def _preview_texts(
    campaign: CampaignView, samples: list[tuple[int, str, str | None, dict[str, Any]]]
) -> list[dict[str, Any]]:
    shown = []
    for _customer_id, name, language, context in samples:
        try:
            texts = {
                lang: render(campaign, lang, {**context, "offer": campaign.offer_code or ""})
                for lang in LANGUAGES
            }
        except OverBudget as error:
            raise InvalidInput(
                f"the message is over its budget: {error.reason}",
                error_id="template-over-budget",
                field="messages",
            ) from error
        except TemplateError as error:
            raise InvalidInput(f"the message does not render: {error}", field="messages") from error
        shown.append({"customer": mask(name), "language": language, "texts": texts})
    return shown


async def preview(
    session: AsyncSession, reader: Actor, campaign_id: int, samples: int = 3
) -> list[dict[str, Any]]:
    """The message as a few customers of the audience would read it, in each language.
    The texts carry the customers' names, so each one shown is audited."""
    campaign = await get(session, campaign_id)
    found = await repo.sample_customers(
        session, parse_audience(campaign.audience), kind=campaign.kind, now=utcnow(), limit=samples
    )
    shown = await asyncio.to_thread(_preview_texts, campaign, found)
    await audit_each_customer(
        session,
        actor=reader,
        action="campaign.preview",
        shown=[(customer_id, campaign.id) for customer_id, *_rest in found],
        key="campaigns",
    )
    await session.commit()
    return shown


# --- the schedule ----------------------------------------------------------------------------


def open_zones(campaign: CampaignView, now: datetime) -> list[str]:
    """The customers' time zones in which this campaign may send right now."""
    if now < campaign.starts_at or (campaign.ends_at is not None and now >= campaign.ends_at):
        return []
    zones = []
    for name in campaign.timezones:
        try:
            local = now.astimezone(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("campaign %s: unknown time zone %r; its customers wait", campaign.id, name)
            continue
        if local.weekday() in campaign.weekdays and campaign.hour_from <= local.hour < campaign.hour_to:
            zones.append(name)
    return zones


# --- expansion -----------------------------------------------------------------------------


async def expand_due(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, now: datetime | None = None
) -> int:
    """Expand one due campaign (or resume a dead worker's expansion); returns rows written."""
    owner = secrets.token_hex(8)
    async with sessions() as session:
        campaign = await repo.take_expansion(session, owner, now or utcnow(), policy.lease)
        if campaign is None:
            return 0
        audience = parse_audience(campaign.audience)
        started = now or utcnow()
        upto_cap = await repo.cap_boundary(session, audience, kind=campaign.kind, now=started)
        last = await repo.max_customer_id(session)
        end = last if upto_cap is None else min(last, upto_cap)
        after = await repo.expansion_resume_point(session, campaign.id)
        written = 0
        while after < end:
            current = await repo.get(session, campaign.id)
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
            )
            if batch < 0:
                return written  # another worker took the expansion over
            await repo.add_timezones(session, campaign.id, after, upto)
            written += batch
            after = upto
        await repo.finish_expansion(session, campaign.id, owner)
        if campaign.recurrence_days:
            await _schedule_next(session, campaign)
        log.info("campaign %s expanded: %s targets written", campaign.id, written)
        return written


async def _schedule_next(session: AsyncSession, campaign: CampaignView) -> None:
    """Recurring campaigns (key accounts every three months) schedule their next run."""
    step = timedelta(days=campaign.recurrence_days or 0)
    await repo.insert(
        session,
        name=campaign.name,
        kind=campaign.kind,
        channel=campaign.channel,
        state="scheduled",
        messages=campaign.messages,
        survey_kind=campaign.survey_kind,
        offer_code=campaign.offer_code,
        audience=campaign.audience,
        starts_at=campaign.starts_at + step,
        ends_at=None if campaign.ends_at is None else campaign.ends_at + step,
        hour_from=campaign.hour_from,
        hour_to=campaign.hour_to,
        weekdays=campaign.weekdays,
        rate_per_minute=campaign.rate_per_minute,
        recurrence_days=campaign.recurrence_days,
        parent_id=campaign.id,
    )
    await session.commit()


# --- dispatch ------------------------------------------------------------------------------


async def send_one(
    sessions: async_sessionmaker[AsyncSession],
    campaign: CampaignView,
    target: ClaimedTarget,
    channel: Channel,
    policy: Policy,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Rules, then the mark that the message is on the wire (committed), then the send, then
    the outcome. Returns the target's new status."""
    async with sessions() as session:
        now = clock()
        verdict, customer = await repo.begin_send(
            session, target, kind=campaign.kind, now=now, frequency_cap=policy.frequency_cap
        )
        if verdict == "stopped":
            return "pending"
        if verdict != "go":
            await session.commit()
            return "skipped"
        context = {**customer, "offer": campaign.offer_code or ""}
        kind, payload = campaign.kind, {"campaign_id": campaign.id, "target_id": target.id}
        if campaign.kind == "satisfaction":
            survey_id = await _survey_for(session, campaign, target, now)
            kind, payload = f"{campaign.survey_kind}_survey", {"survey_id": survey_id}
            context["survey_id"] = survey_id
        try:
            text = await render_off_loop(campaign, target.language, context)
        except TemplateError as error:
            await session.rollback()
            await repo.finish(session, target, "failed", now=clock(), error=f"render: {error}")
            return "failed"
        await session.commit()
        delivery = await channel.send(Outbound(target.address or "", text, target.language, kind, payload))
        now = clock()
        settled = await settle(
            session, delivery, address=target.address, attempts=target.attempts + 1, now=now
        )
        await repo.finish(
            session, target, settled.status, now=now, error=settled.error, retry_at=settled.retry_at
        )
        await session.commit()
        return settled.status


async def _survey_for(
    session: AsyncSession, campaign: CampaignView, target: ClaimedTarget, now: datetime
) -> int:
    """A satisfaction campaign's survey row: its answers feed the satisfaction reports."""
    if target.attempts > 0:
        existing = await repo.target_by_id(session, target.id)
        if existing is not None and existing.survey_id is not None:
            return existing.survey_id
    survey = await surveys_repo.insert(
        session,
        customer_id=target.customer_id,
        kind=campaign.survey_kind or "csat",
        trigger="campaign",
        channel="phone" if target.channel == "dialer" else "telegram",
        campaign_id=campaign.id,
        created_at=now,
        expires_at=now + SURVEY_TTL,
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
        await repo.sweep(session, clock(), policy.lease)
        campaigns = await repo.sendable_campaigns(session, clock())
        work: list[tuple[CampaignView, ClaimedTarget]] = []
        for campaign in campaigns:
            zones = open_zones(campaign, clock())
            if not zones or campaign.channel == "dialer":
                continue
            allowed = await repo.take_tokens(session, campaign.id, policy.dispatch_batch, clock())
            for target in await repo.claim(
                session, campaign.id, zones, channel="telegram", limit=allowed, token=token, now=clock()
            ):
                work.append((campaign, target))
    limit = asyncio.Semaphore(policy.concurrency)

    async def one(campaign: CampaignView, target: ClaimedTarget) -> None:
        async with limit:
            status = await send_one(sessions, campaign, target, channel, policy, clock)
        outcomes[status] = outcomes.get(status, 0) + 1

    await asyncio.gather(*(one(c, t) for c, t in work))
    async with sessions() as session:
        for finished in await repo.finish_campaigns(session, clock()):
            log.info("campaign %s finished", finished)
    return outcomes


async def run_worker(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel | None,
    policy: Policy,
    idle: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Expand and dispatch until cancelled. Without a Telegram channel (no bot token) only
    expansion and the dialer's targets move."""
    while True:
        busy = False
        try:
            busy = await expand_due(sessions, policy) > 0
            if channel is not None:
                busy = bool(await dispatch_once(sessions, channel, policy)) or busy
            else:
                async with sessions() as session:
                    await repo.sweep(session, utcnow(), policy.lease)
                    await repo.finish_campaigns(session, utcnow())
        except asyncio.CancelledError:
            raise
        except Exception:  # the worker outlives a bad moment; the next pass retries
            log.exception("campaign pass failed")
        if not busy:
            await sleep(idle)


# --- the dialer ----------------------------------------------------------------------------


async def next_dial(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, now: datetime | None = None
) -> dict[str, Any] | None:
    """The next customer for the PBX to call, with the script; None when nobody is due."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    async with sessions() as session:
        await repo.sweep(session, now, policy.lease)
        for campaign in await repo.sendable_campaigns(session, now):
            zones = open_zones(campaign, now)
            if not zones or campaign.channel == "telegram":
                continue
            while True:
                claimed = await repo.claim(
                    session, campaign.id, zones, channel="dialer", limit=1, token=token, now=now
                )
                if not claimed:
                    break
                target = claimed[0]
                verdict, customer = await repo.begin_send(
                    session,
                    target,
                    kind=campaign.kind,
                    now=now,
                    frequency_cap=policy.frequency_cap,
                    new_status="dialing",
                )
                if verdict == "stopped":
                    break
                if verdict != "go":
                    await session.commit()
                    continue
                context = {**customer, "offer": campaign.offer_code or ""}
                survey_id = None
                if campaign.kind == "satisfaction":
                    survey_id = await _survey_for(session, campaign, target, now)
                    context["survey_id"] = survey_id
                try:
                    script = await render_off_loop(campaign, target.language, context)
                except TemplateError as error:  # this customer's text only; the next one may do
                    await session.rollback()
                    await repo.finish(session, target, "failed", now=now, error=f"render: {error}")
                    continue
                await session.commit()
                return {
                    "target_id": target.id,
                    "campaign_id": campaign.id,
                    "campaign": campaign.name,
                    "kind": campaign.kind,
                    "phone": target.address,
                    "customer_id": target.customer_id,
                    "language": target.language,
                    "script": script,
                    "survey_id": survey_id,
                    "lease_seconds": int(policy.lease.total_seconds()),
                }
    return None


async def dial_result(
    session: AsyncSession,
    target_id: int,
    outcome: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record what the PBX reports. A repeated report of a final result changes nothing."""
    now = now or utcnow()
    if outcome not in DIAL_OUTCOMES:
        raise InvalidInput("unknown call outcome", field="outcome", allowed=list(DIAL_OUTCOMES))
    target = await repo.target_by_id(session, target_id)
    if target is None or target.channel != "dialer":
        raise NotFound("no such dialer target", target_id=target_id)
    if target.status != "dialing":
        if target.status in ("answered", "refused", "failed", "wrong_number", "no_answer", "busy"):
            return {"target_id": target_id, "status": target.status, "repeat": True}
        raise Conflict("this target is not being dialled", error_id="not-dialing", status=target.status)
    claimed = ClaimedTarget(
        target.id,
        target.campaign_id,
        target.customer_id,
        target.channel,
        target.address,
        target.language,
        target.attempts,
        target.claim_token or "",
    )
    retry = outcome in ("no_answer", "busy") and target.attempts < DIALER_ATTEMPTS
    await repo.finish(
        session,
        claimed,
        outcome,
        now=now,
        error=(note or None),
        retry_at=now + backoff(target.attempts) if retry else None,
    )
    return {"target_id": target_id, "status": "pending" if retry else outcome, "repeat": False}


# --- progress ------------------------------------------------------------------------------

FINAL_DELIVERED = ("sent", "answered")


async def progress(session: AsyncSession, campaign_id: int, now: datetime | None = None) -> dict[str, Any]:
    """What a supervisor watches: counts by outcome, the current rate, an estimated finish,
    and for a satisfaction campaign the response rate and scores."""
    now = now or utcnow()
    campaign = await get(session, campaign_id)
    counts = await repo.status_counts(session, campaign_id)
    total = sum(counts.values())
    remaining = sum(counts.get(s, 0) for s in repo.OPEN_STATES)
    done = total - remaining
    window = timedelta(minutes=5)
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
        converted = await repo.conversions(session, campaign_id)
        delivered = sum(counts.get(s, 0) for s in FINAL_DELIVERED)
        body["conversions"] = {
            "accepted": converted,
            "conversion_rate": round(converted / delivered, 3) if delivered else None,
        }
    return body


# --- cross-sell conversions ----------------------------------------------------------------


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
        target = await repo.target_by_id(session, target_id)
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
