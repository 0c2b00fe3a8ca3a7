"""The demo's campaigns that have already run: a cross-sell offer with its conversions and a
satisfaction survey with its answers, so that the campaigns page shows finished results.

Each is defined through the use case (validated like a supervisor's), then written as the
workers would have left it: one target per customer of its audience, with the outcome of its
message. Loading again finds them by name and writes nothing twice."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import campaigns
from handlers.defaults import SURVEY_LIFETIME, TIMEZONE
from handlers.surveys import SCALES
from storage import surveys as surveys_repo
from storage.campaigns import conversions
from storage.demo_rows import PastTarget, mark_ran
from storage.surveys import NewSurvey


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    tier: str
    language: str
    telegram: str | None
    blacklisted: bool


@dataclass(frozen=True)
class PastCampaign:
    spec: campaigns.CampaignSpec
    days_ago: int


CROSS_SELL = PastCampaign(
    campaigns.CampaignSpec(
        name="Gigabit broadband upgrade, first month free",
        kind="cross_sell",
        offer_code="broadband-1000",
        audience={"tiers": ["regular"]},
        messages={
            "zh": "{{ name }}，您好！千兆宽带限时升级，首月免费。回复即可办理。",
            "en": "Hello {{ name }}, gigabit broadband is yours to try: the first month is free.",
        },
    ),
    days_ago=24,
)
NPS_SURVEY = PastCampaign(
    campaigns.CampaignSpec(
        name="Autumn NPS, all customers",
        kind="satisfaction",
        survey_kind="nps",
        audience={"tiers": ["vip", "preferred", "regular"]},
    ),
    days_ago=40,
)


def _outcome(rng: random.Random, person: Recipient) -> tuple[str, str | None, str | None]:
    """(status, skip reason, error): the rules at sending time, then what Telegram said."""
    if person.blacklisted:
        return "skipped", "blacklisted", None
    if person.telegram is None:
        return "skipped", "no_channel", None
    draw = rng.random()
    if draw < 0.05:
        return "blocked", None, "Forbidden: bot was blocked by the user"
    if draw < 0.09:
        return "failed", None, "Bad Request: chat not found"
    return "sent", None, None


async def _ran(
    session: AsyncSession, past: PastCampaign, audience: Sequence[Recipient], now: datetime
) -> tuple[int, list[tuple[Recipient, PastTarget]]] | None:
    """Define the campaign and write its targets; None when it is there already."""
    existing = next((c for c in await campaigns.list_all(session) if c.name == past.spec.name), None)
    if existing is not None and existing.state == "finished":
        return None
    zone = ZoneInfo(TIMEZONE)
    day = (now.astimezone(zone) - timedelta(days=past.days_ago)).date()
    started = datetime.combine(day, time(10, 0), zone)
    campaign = existing or await campaigns.create(
        session, past.spec, created_by=None, schedule=False, now=started - timedelta(days=2)
    )
    rng = random.Random(past.spec.name)  # noqa: S311 - demo data, not secrets
    wanted = set(past.spec.audience.get("tiers", ()))
    targets: list[tuple[Recipient, PastTarget]] = []
    for person in audience:
        if person.tier not in wanted:
            continue
        status, reason, error = _outcome(rng, person)
        sent_at = started + timedelta(seconds=len(targets) * rng.randint(20, 90))
        targets.append(
            (
                person,
                PastTarget(
                    customer_id=person.customer_id,
                    channel="none" if person.telegram is None else "telegram",
                    address=person.telegram,
                    language=person.language,
                    timezone=TIMEZONE,
                    status=status,
                    reason=reason,
                    attempts=0 if status == "skipped" else 1,
                    next_attempt_at=sent_at,
                    sent_at=sent_at if status == "sent" else None,
                    error=error,
                ),
            )
        )
    return campaign.id, targets


# Ready to schedule (drafts): the quarterly follow-up (回访) of customers who complained or
# got in touch lately, every 90 days, and the care greetings (issue 18).
QUARTERLY_FOLLOW_UP = campaigns.CampaignSpec(
    name="Quarterly follow-up (回访): recent complaint or contact",
    kind="follow_up",
    channel="best",
    audience={"contacted_within_days": 90},
    recurrence_days=90,
    hour_from=9,
    hour_to=18,
    messages={
        "zh": "{{ name }}，您好！这是我们的季度回访：您最近联系过我们，想了解问题是否已经解决、"
        "服务是否满意。有任何需要，直接回复本消息即可。",
        "en": "Hello {{ name }}, this is our quarterly follow-up: you were in touch with us lately, "
        "and we would like to know whether everything is settled and how we did. Just reply here.",
    },
)
CARE_GREETINGS = campaigns.CampaignSpec(
    name="Care greetings: birthdays, anniversaries, holidays",
    kind="care",
    audience={"occasions": ["birthday", "anniversary", "holiday"]},
    hour_from=9,
    hour_to=20,
)
READY = (QUARTERLY_FOLLOW_UP, CARE_GREETINGS)


async def load_ready(session: AsyncSession) -> None:
    """The ready campaigns, as drafts a supervisor schedules from the campaigns page (once)."""
    names = {c.name for c in await campaigns.list_all(session)}
    for spec in READY:
        if spec.name not in names:
            await campaigns.create(session, spec, created_by=None, schedule=False)


async def load_campaigns(session: AsyncSession, audience: Sequence[Recipient], now: datetime) -> None:
    await _cross_sell(session, audience, now)
    await _nps_survey(session, audience, now)
    await load_ready(session)


async def _cross_sell(session: AsyncSession, audience: Sequence[Recipient], now: datetime) -> None:
    ran = await _ran(session, CROSS_SELL, audience, now)
    if ran is None:
        return
    campaign_id, targets = ran
    rng = random.Random("conversions")  # noqa: S311 - demo data
    for person, target in targets:
        # About one in five who got the offer took it, within a day.
        if target.sent_at is not None and rng.random() < 0.22:
            await conversions.record_conversion(
                session,
                customer_id=person.customer_id,
                offer_code=CROSS_SELL.spec.offer_code or "",
                campaign_id=campaign_id,
                channel="telegram",
                agent_id=None,
                at=target.sent_at + timedelta(minutes=rng.randint(3, 600)),
            )
    await _finish(session, campaign_id, [t for _, t in targets])


async def _nps_survey(session: AsyncSession, audience: Sequence[Recipient], now: datetime) -> None:
    ran = await _ran(session, NPS_SURVEY, audience, now)
    if ran is None:
        return
    campaign_id, targets = ran
    rng = random.Random("nps answers")  # noqa: S311 - demo data
    low, high = SCALES["nps"]
    with_surveys: list[PastTarget] = []
    for person, target in targets:
        if target.sent_at is None:
            with_surveys.append(target)
            continue
        survey, _ = await surveys_repo.insert_once(
            session,
            f"demo-campaign-{campaign_id}-{person.customer_id}",
            NewSurvey(
                customer_id=person.customer_id,
                kind="nps",
                trigger="campaign",
                channel="telegram",
                campaign_id=campaign_id,
                created_at=target.sent_at,
                expires_at=target.sent_at + SURVEY_LIFETIME,
            ),
        )
        # Six in ten answered, within a few hours.
        if rng.random() < 0.6:
            score = min(high, max(low, round(rng.triangular(3, 10, 9))))
            answered = target.sent_at + timedelta(minutes=rng.randint(1, 240))
            await surveys_repo.record_answer(session, survey.id, score, None, answered)
        with_surveys.append(replace(target, survey_id=survey.id))
    await _finish(session, campaign_id, with_surveys)


async def _finish(session: AsyncSession, campaign_id: int, targets: Sequence[PastTarget]) -> None:
    sent = [t.sent_at for t in targets if t.sent_at is not None]
    started = min((t.next_attempt_at for t in targets), default=None)
    if started is None:
        return
    await mark_ran(
        session,
        campaign_id,
        started_at=started,
        finished_at=max(sent, default=started) + timedelta(minutes=1),
        timezones=[TIMEZONE],
        targets=targets,
    )
    await session.commit()
