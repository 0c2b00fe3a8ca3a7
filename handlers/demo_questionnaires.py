"""The demo's yearly questionnaire, answered: about two in three of the demo's customers were
asked three days ago, on Telegram, by keypad or by an agent on a dialer call; most answered
every question, some stopped part-way. Loading again finds each survey by its reference and
writes nothing twice."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import questionnaires
from handlers.defaults import SURVEY_LIFETIME
from handlers.demo_campaigns import Recipient
from handlers.questionnaires import RANGES
from storage import questionnaires as repo
from storage import surveys as surveys_repo
from storage.surveys import NewSurvey

DAYS_AGO = 3
# How each channel's customers score, as (low, mode, high) of a triangular draw on 0..1.
CHANNELS = (("telegram", 0.6), ("ivr", 0.25), ("agent", 0.15))
WORDS = (
    "Faster repairs, please.",
    "The new plan is good value.",
    "Signal at home is weak.",
    "希望客服电话能更快接通。",
    "网络很稳定，满意。",
    "账单能否更清楚一些？",
)


def _value(rng: random.Random, kind: str, choices: int, tier: str) -> int:
    """A plausible answer: VIPs a little happier, prices scored lower than service."""
    if kind == "choice":
        return rng.choices(range(1, choices + 1), weights=[max(1, 4 - i) for i in range(choices)])[0]
    low, high = RANGES[kind]
    lift = 0.08 if tier == "vip" else 0.0
    share = min(1.0, rng.triangular(0.2, 1.0, 0.75 + lift))
    return round(low + share * (high - low))


async def load_questionnaires(session: AsyncSession, audience: Sequence[Recipient], now: datetime) -> None:
    ids = await questionnaires.ensure_templates(session)
    yearly = await questionnaires.get(session, ids["yearly"])
    asked_at = now - timedelta(days=DAYS_AGO)
    for person in audience:
        # Each customer's own draws: loading again decides the same for everyone.
        rng = random.Random(f"yearly answers {person.customer_id}")  # noqa: S311 - demo data
        if person.blacklisted or rng.random() > 0.65:
            continue
        channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
        sent = asked_at + timedelta(minutes=rng.randint(0, 600))
        survey, created = await surveys_repo.insert_once(
            session,
            f"demo-yearly-{person.customer_id}",
            NewSurvey(
                customer_id=person.customer_id,
                kind="quest",
                trigger="periodic",
                channel="phone" if channel != "telegram" else "telegram",
                questionnaire_id=yearly.id,
                created_at=sent,
                expires_at=sent + SURVEY_LIFETIME,
            ),
        )
        if not created:
            continue
        # One in six stopped part-way: they answered the first one to three questions.
        stop = rng.randint(1, 3) if rng.random() < 0.17 else len(yearly.questions)
        at = sent + timedelta(minutes=rng.randint(1, 300))
        for question in yearly.questions[:stop]:
            at += timedelta(seconds=rng.randint(5, 40))
            text = None
            value = None
            skipped = False
            if question.kind == "text":
                if channel == "ivr" or rng.random() < 0.5:
                    skipped = True
                else:
                    text = rng.choice(WORDS)
            else:
                value = _value(rng, question.kind, len(question.choices), person.tier)
            await repo.record(
                session,
                survey.id,
                question.id,
                value=value,
                text=text,
                skipped=skipped,
                channel=channel,
                agent_id=None,
                now=at,
            )
        if stop == len(yearly.questions):
            await repo.complete(session, survey.id, at)
    await session.commit()
