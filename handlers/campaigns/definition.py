"""Defining a campaign: what it says, to whom, when; checked before it is saved."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import campaign_templates, offers, questionnaires
from handlers.campaign_templates import OverBudget
from handlers.campaigns.audience import audience_json, parse_audience
from handlers.customers import TIERS
from handlers.errors import InvalidInput, NotFound
from handlers.surveys import KINDS as SURVEY_KINDS
from handlers.surveys import QUESTIONNAIRE
from storage.campaign_audience import Audience
from storage.campaigns import definitions as repo
from storage.campaigns import views
from storage.campaigns.views import CampaignView
from storage.models.base import utcnow
from templates import LANGUAGES

KINDS = ("satisfaction", "follow_up", "cross_sell", "care")
CHANNELS = ("telegram", "dialer", "best")


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    kind: str
    channel: str = "telegram"
    messages: dict[str, str] = field(default_factory=dict)
    survey_kind: str | None = None
    # With survey_kind `quest`: the questionnaire to send (handlers/questionnaires.py).
    questionnaire_id: int | None = None
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


def _check_renders(spec: CampaignSpec, offer_name: str) -> None:
    """Render each text as a customer of each tier would get it, so that a text over its
    budget (or naming a variable that does not exist) is refused now, not at send time.
    CPU-bound: runs in a thread."""
    for language, text in spec.messages.items():
        for tier in TIERS:
            context: dict[str, Any] = {"name": SAMPLE_NAME, "tier": tier, "offer": offer_name}
            if spec.kind == "satisfaction":
                context["survey_id"] = 1
            try:
                campaign_templates.render(text, context)
            except TemplateError as error:
                raise _template_error(language, error) from error


def _check_care(spec: CampaignSpec) -> None:
    """A care campaign says the care calendar's greetings, on Telegram, every day."""
    if spec.messages:
        raise InvalidInput(
            "a care campaign sends the care calendar's greetings; leave the messages empty",
            error_id="care-messages",
            field="messages",
        )
    if spec.channel != "telegram":
        raise InvalidInput("a care campaign greets on Telegram", field="channel", allowed=["telegram"])
    if spec.recurrence_days not in (None, 1):
        raise InvalidInput("a care campaign runs every day", field="recurrence_days")


def validate(spec: CampaignSpec) -> Audience:
    if not spec.name.strip():
        raise InvalidInput("a campaign needs a name", field="name")
    if spec.kind not in KINDS:
        raise InvalidInput("unknown campaign kind", field="kind", allowed=list(KINDS))
    if spec.channel not in CHANNELS:
        raise InvalidInput("unknown channel", field="channel", allowed=list(CHANNELS))
    if spec.kind == "satisfaction" and spec.survey_kind not in SURVEY_KINDS:
        raise InvalidInput(
            "a satisfaction campaign asks csat, nps or a questionnaire (quest)",
            field="survey_kind",
            allowed=list(SURVEY_KINDS),
        )
    if spec.kind == "satisfaction" and (spec.survey_kind == QUESTIONNAIRE) != (
        spec.questionnaire_id is not None
    ):
        raise InvalidInput(
            "a questionnaire campaign (survey_kind quest) names its questionnaire_id",
            field="questionnaire_id",
        )
    if spec.kind == "cross_sell" and not spec.offer_code:
        raise InvalidInput("a cross-sell campaign names its offer", field="offer_code")
    if spec.kind == "care":
        _check_care(spec)
    elif spec.kind != "satisfaction" and not spec.messages:
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


async def _offer_on_sale(session: AsyncSession, code: str | None) -> str:
    """The name customers will read for the offer; a code outside the catalogue is refused
    (a typo would otherwise reach customers as an empty or unknown offer)."""
    if code is None:
        return ""
    names = await offers.on_sale(session)
    if code not in names:
        raise InvalidInput("unknown offer", error_id="unknown-offer", field="offer_code", allowed=list(names))
    return names[code]


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
    offer_name = await _offer_on_sale(session, spec.offer_code)
    questionnaire_id = spec.questionnaire_id if spec.kind == "satisfaction" else None
    if questionnaire_id is not None:
        await questionnaires.get(session, questionnaire_id)  # NotFound for one that does not exist
    await asyncio.to_thread(_check_renders, spec, offer_name)
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
        questionnaire_id=questionnaire_id,
        offer_code=spec.offer_code if spec.kind == "cross_sell" else None,
        audience=audience_json(audience),
        starts_at=spec.starts_at or now,
        ends_at=spec.ends_at,
        hour_from=spec.hour_from,
        hour_to=spec.hour_to,
        # A greeting has its day, whichever weekday it is; care runs daily.
        weekdays=list(range(7)) if spec.kind == "care" else sorted(set(spec.weekdays)),
        rate_per_minute=spec.rate_per_minute,
        recurrence_days=1 if spec.kind == "care" else spec.recurrence_days,
        audience_count=await repo.count_audience(session, audience, kind=spec.kind, now=now),
        created_by_id=created_by,
        created_at=now,
    )
    await session.commit()
    return campaign


async def list_all(session: AsyncSession) -> list[CampaignView]:
    return await repo.list_all(session)


async def get(session: AsyncSession, campaign_id: int) -> CampaignView:
    campaign = await views.get(session, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign", campaign_id=campaign_id)
    return campaign
