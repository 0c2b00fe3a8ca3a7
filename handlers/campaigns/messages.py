"""A campaign's text for one customer, and the preview a supervisor reads before starting."""

from __future__ import annotations

import asyncio
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import campaign_templates, offers
from handlers.campaign_templates import OverBudget
from handlers.campaigns.audience import parse_audience
from handlers.campaigns.care import occasion_texts
from handlers.campaigns.definition import get
from handlers.errors import InvalidInput
from handlers.identities import mask
from storage.audit import Actor, audit_each_customer
from storage.campaigns import definitions as repo
from storage.campaigns.views import CampaignView
from storage.models.base import utcnow
from templates import LANGUAGES, message


def render(
    campaign: CampaignView, language: str, context: dict[str, Any], occasion: str | None = None
) -> str:
    """The campaign's text for one customer, in their language when the campaign has it (a
    care run's text for the target's `occasion`). CPU-bound within the template budget:
    async callers use `render_off_loop`."""
    texts = campaign.messages
    if campaign.kind == "care":
        texts = occasion_texts(texts, occasion or _first_occasion(texts))
    for candidate in (language, "zh", "en", *texts):
        text = texts.get(candidate)
        if text:
            return campaign_templates.render(text, context)
    # A satisfaction campaign without its own wording asks the standard question.
    return message(f"{campaign.survey_kind or 'csat'}_survey", language, **context)


async def customer_context(
    session: AsyncSession, campaign: CampaignView, customer: dict[str, Any]
) -> dict[str, Any]:
    """What a campaign's text may name for one customer: their own fields, and the offer by
    the name customers read (`{{ offer }}` is never an internal code like broadband-1000)."""
    return {**customer, "offer": await offers.customer_name(session, campaign.offer_code)}


def _first_occasion(texts: dict[str, str]) -> str:
    """What a care run's preview shows: the first occasion of its day."""
    return min((key.rpartition(".")[0] for key in texts), default="")


async def render_off_loop(
    campaign: CampaignView, language: str, context: dict[str, Any], occasion: str | None = None
) -> str:
    return await asyncio.to_thread(render, campaign, language, context, occasion)


def _preview_texts(
    campaign: CampaignView, samples: list[tuple[int, str, str | None, dict[str, Any]]], offer: str
) -> list[dict[str, Any]]:
    shown = []
    for _customer_id, name, language, context in samples:
        try:
            texts = {lang: render(campaign, lang, {**context, "offer": offer}) for lang in LANGUAGES}
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
    offer = await offers.customer_name(session, campaign.offer_code)
    shown = await asyncio.to_thread(_preview_texts, campaign, found, offer)
    await audit_each_customer(
        session,
        actor=reader,
        action="campaign.preview",
        shown=[(customer_id, campaign.id) for customer_id, *_rest in found],
        key="campaigns",
    )
    await session.commit()
    return shown
